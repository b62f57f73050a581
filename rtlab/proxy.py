"""Put a corporate-style proxy between a notebook and the demo server.

    from rtlab import lab, proxy
    server = lab.start()
    blocking = proxy.start(server)       # refuses WebSocket upgrades, passes the rest
    blocking.ws_url("/ws/echo")          # a raw WebSocket through it fails with HTTP 403
    blocking.url                         # Socket.IO / SSE through it: polling and streams work
    blocking.stats()                     # {"requests", "blocked_upgrades", "open", ...}

The proxy is ``python -m servers.proxy`` in its own process, started like the demo
server (ready line, ``--parent-pid``): it dies with the kernel, even by SIGKILL.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from rtlab import urls
from rtlab.lab import LabError
from rtlab.process import HOST, LoopbackAddresses, ProcessNotReady, spawn_until_ready, terminate

READY_PREFIX = "rtlab proxy ready on "


class ProxyProcess(LoopbackAddresses):
    """One ``python -m servers.proxy`` child process. Use :func:`start` or :meth:`launch`."""

    def __init__(self, upstream: str, block_upgrade: bool, proc: subprocess.Popen[bytes],
                 port: int, log_path: Path) -> None:
        self.upstream = upstream
        self.block_upgrade = block_upgrade
        self.proc = proc
        self.port = port
        self.log_path = log_path
        self.query = urls.query_of(upstream)  # a classroom's token: clients pass it through

    @classmethod
    def launch(cls, upstream: str, *, block_upgrade: bool = True,
               timeout: float = 10.0) -> ProxyProcess:
        log_path = Path(tempfile.mkdtemp(prefix="rtlab-proxy-")) / "proxy.log"
        cmd = [sys.executable, "-m", "servers.proxy", "--upstream", upstream, "--port", "0",
               "--host", HOST, "--parent-pid", str(os.getpid())]
        if block_upgrade:
            cmd.append("--block-upgrade")
        try:
            proc, line = spawn_until_ready(cmd, READY_PREFIX, log_path, timeout, "proxy")
        except ProcessNotReady as exc:
            raise LabError(str(exc)) from None
        port = int(line.rsplit(":", 1)[1].strip("/"))
        made = cls(upstream, block_upgrade, proc, port, log_path)
        _launched.append(made)
        return made

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stats(self) -> dict[str, Any]:
        """What the proxy saw: requests, blocked upgrades (and their paths), open relays."""
        try:
            return httpx.get(urls.join(urls.without_query(self.url), "/_proxy/stats"),
                             timeout=2.0).json()
        except httpx.HTTPError as exc:
            raise LabError(f"no answer from the proxy at {self.url}: {exc!r}") from None

    def stop(self, timeout: float = 3.0) -> None:
        terminate(self.proc, timeout)

    def __repr__(self) -> str:
        mode = "blocking upgrades" if self.block_upgrade else "passing upgrades"
        return f"<ProxyProcess {self.url} -> {self.upstream} ({mode})>"


_launched: list[ProxyProcess] = []
_shared: dict[tuple[str, bool], ProxyProcess] = {}


def start(server: Any, *, block_upgrade: bool = True) -> ProxyProcess:
    """A proxy in front of ``server`` (anything with ``.url``), reused when called again."""
    key = (server.url, block_upgrade)
    existing = _shared.get(key)
    if existing is not None and existing.alive:
        return existing
    _shared[key] = ProxyProcess.launch(server.url, block_upgrade=block_upgrade)
    return _shared[key]


def stop_all() -> None:
    """Stop every proxy this process started (also runs at interpreter exit)."""
    for proxy in list(_launched):
        with contextlib.suppress(Exception):
            proxy.stop(timeout=2.0)
    _launched.clear()
    _shared.clear()


atexit.register(stop_all)
