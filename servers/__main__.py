"""``python -m servers``: run every demo server in one uvicorn process.

Prints ``rtlab servers ready on http://HOST:PORT`` as the first stdout line once the socket
really accepts connections; ``rtlab.lab`` waits for exactly that line.

``--workers N --broker redis://HOST:PORT`` serves the same port from N worker processes
(:mod:`servers.master`, :mod:`servers.worker`) that share rooms, feeds and tokens through
Redis (:mod:`servers.broker`). Without ``--broker`` everything stays in this one process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import secrets
import socket
import sys

from servers import auth, badinput, broker, gcpolicy, lifeline, uvserver
from servers.app import DEFAULT_MAX_FRAME, Settings
from servers.classroom import cli as classroom_cli

READY = "rtlab servers ready on http://{host}:{port}"
JOIN_ENV = "RTLAB_JOIN_TOKEN"
INSTRUCTOR_ENV = "RTLAB_INSTRUCTOR_TOKEN"


def parse_args(argv: list[str] | None = None) -> tuple[Settings, int | None]:
    """The settings, and the channel to the master when this process is a worker."""
    p = argparse.ArgumentParser(prog="python -m servers", description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="loopback = lab mode (chaos on)")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    p.add_argument("--token-ttl", type=float, default=900, help="access token TTL, seconds")
    p.add_argument("--max-frame", type=int, default=DEFAULT_MAX_FRAME,
                   help="largest WebSocket message in bytes; bigger ones close with 1009")
    p.add_argument("--parent-pid", type=int, default=None, help="exit when this process dies")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes sharing the port (more than 1 needs --broker)")
    p.add_argument("--broker", default=None, metavar="redis://HOST:PORT",
                   help="share rooms, feeds and tokens through this Redis")
    p.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--channel-fd", type=int, default=None, help=argparse.SUPPRESS)
    classroom_cli.add_arguments(p)
    a = p.parse_args(argv)
    if a.workers < 1:
        p.error("--workers must be at least 1")
    if a.workers > 1 and not a.broker:
        p.error(f"--workers {a.workers} needs --broker redis://HOST:PORT: worker processes "
                "share rooms, subscriptions and SSE replay only through a broker "
                "(one process needs none)")
    if a.broker and not a.broker.startswith(("redis://", "rediss://", "unix://")):
        p.error(f"--broker {a.broker!r}: expected redis://HOST:PORT")
    classroom = classroom_cli.config(a)
    if classroom is not None and a.worker_index is not None:
        classroom = dataclasses.replace(  # the master's tokens, random ones included
            classroom, join_token=os.environ.get(JOIN_ENV, classroom.join_token),
            instructor_token=os.environ.get(INSTRUCTOR_ENV, classroom.instructor_token))
    settings = Settings(host=a.host, port=a.port, token_ttl=a.token_ttl,
                        max_frame=a.max_frame, parent_pid=a.parent_pid, broker=a.broker,
                        workers=a.workers, worker=a.worker_index, classroom=classroom)
    return settings, a.channel_fd


def worker_env(settings: Settings) -> dict[str, str]:
    """What every worker must share with the others and cannot draw for itself: one JWT
    secret, and in classroom mode the tokens (random unless given). Passed in the
    environment, not on the command line that any local user can read."""
    env = {auth.SECRET_ENV: secrets.token_bytes(32).hex()}
    if settings.classroom is not None:
        env[JOIN_ENV] = settings.classroom.join_token
        env[INSTRUCTOR_ENV] = settings.classroom.instructor_token
    return env


def bind(host: str, port: int) -> socket.socket:
    """Bind ourselves so port 0 works and a restart can take the same port at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


async def serve(settings: Settings, sock: socket.socket) -> None:
    server = uvserver.build(settings)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task  # startup failed: let its exception (or SystemExit) through
            raise SystemExit(1)
        await asyncio.sleep(0.005)
    await broker.start_all()  # with --broker: listening before we say we serve
    gcpolicy.apply()  # start-up is over: what it built is permanent
    announce(settings, *sock.getsockname()[:2])
    await task


def announce(settings: Settings, host: str, port: int) -> None:
    """The ready line first (``rtlab.lab`` waits for it), then the classroom's join URL."""
    print(READY.format(host=host, port=port), flush=True)
    if settings.classroom is not None:
        classroom_cli.announce(settings.classroom, host, port, sys.stdout)


def worker_args(argv: list[str], port: int) -> list[str]:
    """The master's own arguments for its workers: minus ``--parent-pid`` (a worker's parent
    is the master), with the port the master really bound."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--parent-pid":
            skip = True
        elif not arg.startswith("--parent-pid="):
            out.append(arg)
    return [*out, "--port", str(port)]


def skip_redis_import() -> None:
    """Import python-socketio without Redis's client, for a process with no broker.

    python-socketio imports ``redis`` as soon as it is installed (for ``AsyncRedisManager``),
    which costs 0.1-0.2 s of the 1 s a server has to be ready, and one process never uses
    it. ``sys.modules[name] = None`` makes that import fail as if redis were absent, which
    python-socketio expects; the entry is removed at once, so redis can still be imported."""
    if "socketio" in sys.modules or "redis" in sys.modules:
        return
    sys.modules["redis"] = None  # type: ignore[assignment]
    try:
        import socketio  # noqa: F401
    finally:
        del sys.modules["redis"]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    settings, channel_fd = parse_args(argv)
    if settings.broker is None:
        skip_redis_import()
    lifeline.install(settings.parent_pid)
    badinput.install()
    if settings.worker is not None and channel_fd is not None:
        from servers import worker

        channel = socket.socket(fileno=channel_fd)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(worker.serve(settings, channel))
        return
    try:
        sock = bind(settings.host, settings.port)
    except OSError as exc:
        print(f"cannot bind {settings.host}:{settings.port}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    host, port = sock.getsockname()[:2]
    if settings.workers > 1:
        from servers.master import Master

        sock.listen(2048)
        master = Master(sock, settings.workers, worker_args(argv, port), worker_env(settings))
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(master.run(lambda: announce(settings, host, port)))
        return
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings, sock))


if __name__ == "__main__":
    main()
