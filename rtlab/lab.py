"""Start, break and stop the demo servers from a notebook.

    from rtlab import lab
    server = lab.start()                 # reused when the cell runs again
    server.ws_url("/ws/echo")            # "ws://127.0.0.1:PORT/ws/echo"
    server.chaos.freeze(); server.chaos.thaw()
    server.kill(); server.restart()      # same port, so clients can reconnect
    ticker = lab.keep("ticker", ReconnectingWebSocket(url))  # a re-run closes the old one
    server = lab.connect("http://10.0.0.5:8000/?join=TOKEN")  # a classroom's shared server

The server runs as ``python -m servers --port 0 --parent-pid <kernel pid>`` in its own
session (a kernel interrupt must not kill it); it exits by itself when the kernel dies,
even by SIGKILL, so nothing is left behind. Its stderr goes to a log file
(:attr:`ServerProcess.log_path`) so a chatty server never blocks on a full pipe.

With ``RTLAB_SERVER`` set (a classroom's join URL), :func:`start` returns the shared
classroom server's handle instead (:mod:`rtlab.remote`): same API, chaos scoped to this
notebook's own connections, and ``kill``/``restart``/``freeze`` done by their scoped
equivalents with a printed note.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from rtlab import urls
from rtlab.errors import LabError
from rtlab.process import (
    HOST,
    LoopbackAddresses,
    ProcessNotReady,
    log_tail,
    spawn_until_ready,
    terminate,
)
from rtlab.rerun import closed, forget, keep, kept

if TYPE_CHECKING:
    from rtlab.remote import RemoteServer

READY_PREFIX = "rtlab servers ready on "

__all__ = ["ChaosClient", "LabError", "ServerProcess", "closed", "connect", "forget", "keep",
           "kept", "start", "stop_all"]


class ChaosClient:
    """Synchronous (and ``a``-prefixed async) calls to a server's /_chaos/* endpoints.

    Each call uses a fresh connection and a short timeout, so it fails fast and clearly
    when the server is SIGSTOPped or dead instead of hanging a notebook cell.
    """

    def __init__(self, base_url: str, timeout: float = 2.0) -> None:
        self.base_url = base_url
        self.timeout = timeout

    def _url(self, name: str) -> str:
        return urls.join(self.base_url, f"/_chaos/{name}")

    def _result(self, name: str, response: httpx.Response) -> dict[str, Any]:
        if response.status_code == 404:
            raise LabError(f"{self._url(name)}: 404 (chaos is only on in lab mode, loopback, "
                           "and in classroom mode)")
        if response.status_code >= 400:
            raise LabError(f"{self._url(name)}: HTTP {response.status_code} {response.text}")
        return response.json()

    def _failure(self, name: str, exc: Exception) -> LabError:
        return LabError(
            f"no answer from {self._url(name)} within {self.timeout} s "
            f"({type(exc).__name__}: {exc}). Is the server frozen (SIGSTOP) or dead?"
        )

    def _call(self, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        method = "GET" if name == "stats" else "POST"
        try:
            response = httpx.request(method, self._url(name), json=body, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise self._failure(name, exc) from None
        return self._result(name, response)

    async def _acall(self, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        method = "GET" if name == "stats" else "POST"
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.request(method, self._url(name), json=body)
        except httpx.HTTPError as exc:
            raise self._failure(name, exc) from None
        return self._result(name, response)

    def drop(self, protocol: str = "all", mode: str = "abort") -> dict[str, Any]:
        """Cut open connections: abort = no close frame (1006), close = close frame 1012."""
        return self._call("drop", {"protocol": protocol, "mode": mode})

    def latency(self, ms: float) -> dict[str, Any]:
        return self._call("latency", {"ms": ms})

    def freeze(self) -> dict[str, Any]:
        """Half-open link: open connections stop reading and writing (no pongs)."""
        return self._call("freeze")

    def thaw(self) -> dict[str, Any]:
        return self._call("thaw")

    def reject(self, status: int = 503, seconds: float = 5) -> dict[str, Any]:
        return self._call("reject", {"status": status, "seconds": seconds})

    def restart(self, seconds: float = 1.0, status: int = 503, mode: str = "abort"
                ) -> dict[str, Any]:
        """A restart as clients see it: faults undone, links cut, new ones refused for
        ``seconds`` (what a classroom's instructor does to the whole class)."""
        return self._call("restart", {"seconds": seconds, "status": status, "mode": mode})

    def reset(self) -> dict[str, Any]:
        return self._call("reset")

    def stats(self) -> dict[str, Any]:
        return self._call("stats")

    async def adrop(self, protocol: str = "all", mode: str = "abort") -> dict[str, Any]:
        return await self._acall("drop", {"protocol": protocol, "mode": mode})

    async def alatency(self, ms: float) -> dict[str, Any]:
        return await self._acall("latency", {"ms": ms})

    async def afreeze(self) -> dict[str, Any]:
        return await self._acall("freeze")

    async def athaw(self) -> dict[str, Any]:
        return await self._acall("thaw")

    async def areject(self, status: int = 503, seconds: float = 5) -> dict[str, Any]:
        return await self._acall("reject", {"status": status, "seconds": seconds})

    async def arestart(self, seconds: float = 1.0, status: int = 503, mode: str = "abort"
                       ) -> dict[str, Any]:
        return await self._acall("restart", {"seconds": seconds, "status": status, "mode": mode})

    async def areset(self) -> dict[str, Any]:
        return await self._acall("reset")

    async def astats(self) -> dict[str, Any]:
        return await self._acall("stats")


class ServerProcess(LoopbackAddresses):
    """One ``python -m servers`` child process. Use :meth:`launch` (or :func:`start`)."""

    def __init__(self, args: tuple[str, ...], log_dir: Path) -> None:
        self.args = args
        self.log_dir = log_dir
        self.log_path = log_dir / "server.log"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def launch(
        cls,
        *,
        token_ttl: float | None = None,
        max_frame: int | None = None,
        port: int = 0,
        timeout: float = 10.0,
        extra_args: tuple[str, ...] = (),
    ) -> ServerProcess:
        """Start a new server (never reused) and wait until it accepts connections."""
        args = _args(token_ttl, max_frame) + tuple(extra_args)
        server = cls(args, Path(tempfile.mkdtemp(prefix="rtlab-server-")))
        server._spawn(port, timeout)
        _launched.append(server)
        return server

    def _spawn(self, port: int, timeout: float) -> None:
        cmd = [sys.executable, "-m", "servers", "--host", HOST, "--port", str(port),
               "--parent-pid", str(os.getpid()), *self.args]
        started = time.monotonic()
        try:
            self.proc, line = spawn_until_ready(cmd, READY_PREFIX, self.log_path, timeout, "server")
        except ProcessNotReady as exc:
            raise LabError(str(exc)) from None
        self.port = int(line.rsplit(":", 1)[1].strip("/"))
        self.startup_seconds = time.monotonic() - started

    def _log_tail(self, chars: int = 4000) -> str:
        return "server " + log_tail(self.log_path, chars)

    # -- what notebooks read ----------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def chaos(self) -> ChaosClient:
        return ChaosClient(self.url)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __repr__(self) -> str:
        state = "alive" if self.alive else "stopped"
        return f"<ServerProcess {self.url} pid={self.pid} {state}>"

    # -- breaking and mending ---------------------------------------------------------------
    def kill(self) -> None:
        """SIGKILL: the server vanishes at once, as in a crash (clients see 1006)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, _signal("SIGCONT"))  # a stopped process can't die
            self.proc.kill()
        self.proc.wait()

    def stop(self, timeout: float = 3.0) -> None:
        """SIGTERM (graceful: WebSocket clients get close 1012), SIGKILL after ``timeout``."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # a frozen server cannot exit
                os.kill(self.proc.pid, _signal("SIGCONT"))
            terminate(self.proc, timeout)

    def restart(self, timeout: float = 10.0) -> ServerProcess:
        """Start again on the same port (after kill(), stop(), or while running)."""
        self.stop()
        deadline = time.monotonic() + timeout
        while True:  # the port can stay busy for a moment after the old process exits
            try:
                self._spawn(self.port, max(deadline - time.monotonic(), 0.5))
                return self
            except LabError:
                if time.monotonic() > deadline or "cannot bind" not in self.log_text():
                    raise
                time.sleep(0.1)

    def freeze(self) -> None:
        """SIGSTOP the whole process: nothing answers, nothing closes (a hung server)."""
        self._signal_alive("SIGSTOP")

    def thaw(self) -> None:
        """SIGCONT after :meth:`freeze`."""
        self._signal_alive("SIGCONT")

    def _signal_alive(self, name: str) -> None:
        sig = _signal(name)
        if not self.alive:
            raise LabError(f"server {self.url} is not running")
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal(name: str) -> int:
    sig = getattr(signal, name, None)
    if sig is None:
        raise NotImplementedError(f"{name} does not exist on this OS ({sys.platform})")
    return sig


_launched: list[ServerProcess] = []
_shared: ServerProcess | None = None
_shared_remote: RemoteServer | None = None  # under RTLAB_SERVER
_lock = threading.Lock()


def connect(url: str | None = None, token: str | None = None, *,
            name: str | None = None) -> RemoteServer:
    """A handle on a classroom server (default: ``RTLAB_SERVER``): :mod:`rtlab.remote`."""
    from rtlab import remote

    return remote.connect(url, token, name=name)


def _remote(token_ttl: float | None, max_frame: int | None, fresh: bool) -> RemoteServer:
    """``start()`` under ``RTLAB_SERVER``: the classroom's server, one client id per kernel."""
    global _shared_remote
    from rtlab import remote

    asked = {k: v for k, v in (("token_ttl", token_ttl), ("max_frame", max_frame)) if v}
    if asked:
        print(f"classroom: the shared server keeps its own settings ({asked} not applied)")
    if fresh:
        return remote.connect(stand_ins=True)
    with _lock:
        if _shared_remote is None:
            _shared_remote = remote.connect(stand_ins=True)
        return _shared_remote


def start(
    *,
    token_ttl: float | None = None,
    max_frame: int | None = None,
    fresh: bool = False,
    timeout: float = 10.0,
) -> ServerProcess | RemoteServer:
    """The notebook's server: started once, reused when called again with the same options
    (restarted on its port if it died). Other options replace it; ``fresh=True`` always
    starts a new, unshared one. With ``RTLAB_SERVER`` set: the classroom's shared server
    (:mod:`rtlab.remote`)."""
    global _shared
    if os.environ.get("RTLAB_SERVER"):
        return _remote(token_ttl, max_frame, fresh)
    if fresh:
        return ServerProcess.launch(token_ttl=token_ttl, max_frame=max_frame, timeout=timeout)
    with _lock:
        wanted = _args(token_ttl, max_frame)
        if _shared is not None and _shared.args == wanted:
            if not _shared.alive:
                _shared.restart(timeout=timeout)
            return _shared
        if _shared is not None:
            _shared.stop()
        _shared = ServerProcess.launch(token_ttl=token_ttl, max_frame=max_frame, timeout=timeout)
        return _shared


def _args(token_ttl: float | None, max_frame: int | None) -> tuple[str, ...]:
    args: tuple[str, ...] = ()
    if token_ttl is not None:
        args += ("--token-ttl", str(token_ttl))
    if max_frame is not None:
        args += ("--max-frame", str(int(max_frame)))
    return args


def stop_all() -> None:
    """Stop every server this process started (also runs at interpreter exit)."""
    global _shared
    for server in list(_launched):
        with contextlib.suppress(Exception):
            server.stop(timeout=2.0)
    _launched.clear()
    _shared = None


atexit.register(stop_all)
