"""``python -m servers``: run every demo server in one uvicorn process.

Prints ``rtlab servers ready on http://HOST:PORT`` as the first stdout line once the socket
really accepts connections; ``rtlab.lab`` waits for exactly that line.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys

import uvicorn

from servers import badinput, lifeline
from servers.app import DEFAULT_MAX_FRAME, Settings, create_app
from servers.classroom import cli as classroom_cli
from servers.transport import Registry, make_protocols

READY = "rtlab servers ready on http://{host}:{port}"
GRACEFUL_SHUTDOWN_SECONDS = 1


def parse_args(argv: list[str] | None = None) -> Settings:
    p = argparse.ArgumentParser(prog="python -m servers", description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="loopback = lab mode (chaos on)")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    p.add_argument("--token-ttl", type=float, default=900, help="access token TTL, seconds")
    p.add_argument("--max-frame", type=int, default=DEFAULT_MAX_FRAME,
                   help="largest WebSocket message in bytes; bigger ones close with 1009")
    p.add_argument("--parent-pid", type=int, default=None, help="exit when this process dies")
    classroom_cli.add_arguments(p)
    a = p.parse_args(argv)
    return Settings(host=a.host, port=a.port, token_ttl=a.token_ttl, max_frame=a.max_frame,
                    parent_pid=a.parent_pid, classroom=classroom_cli.config(a))


def bind(host: str, port: int) -> socket.socket:
    """Bind ourselves so port 0 works and a restart can take the same port at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


async def serve(settings: Settings, sock: socket.socket) -> None:
    registry = Registry()
    http_cls, ws_cls = make_protocols(registry)
    config = uvicorn.Config(
        create_app(settings, registry),
        loop="asyncio",
        http=http_cls,
        ws=ws_cls,
        ws_max_size=settings.max_frame,
        lifespan="auto",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task  # startup failed: let its exception (or SystemExit) through
            raise SystemExit(1)
        await asyncio.sleep(0.005)
    host, port = sock.getsockname()[:2]
    print(READY.format(host=host, port=port), flush=True)
    if settings.classroom is not None:
        classroom_cli.announce(settings.classroom, host, port, sys.stdout)
    await task


def main(argv: list[str] | None = None) -> None:
    settings = parse_args(argv)
    lifeline.install(settings.parent_pid)
    badinput.install()
    try:
        sock = bind(settings.host, settings.port)
    except OSError as exc:
        print(f"cannot bind {settings.host}:{settings.port}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        asyncio.run(serve(settings, sock))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
