"""Start a helper process and wait for its ready line: shared by the demo server and the proxy.

The child gets its own session (a kernel interrupt, SIGINT to the group, must not
reach it), its stderr goes to a log file (a chatty child never blocks on a full
pipe), and stdout is read only up to the first line, which must start with
``ready_prefix``; after that a daemon thread drains it. Failures raise
:class:`ProcessNotReady` with the tail of the log, so a notebook shows why.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from rtlab import urls
from rtlab.errors import ProcessNotReady

HOST = "127.0.0.1"


class LoopbackAddresses:
    """``url`` / ``http_url(path)`` / ``ws_url(path)`` of a child listening on ``HOST:port``;
    ``query`` (e.g. a classroom's join token, for a proxy in front of one) goes on every URL."""

    port: int
    query: str = ""

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}" + (f"?{self.query}" if self.query else "")

    def http_url(self, path: str = "/") -> str:
        return urls.join(self.url, path)

    def ws_url(self, path: str = "/ws/echo") -> str:
        return urls.websocket(self.http_url(path))


def terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL: a stop that is always bounded."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def log_tail(log_path: Path, chars: int = 4000) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        text = ""
    return f"stderr ({log_path}):\n{text[-chars:] or '(empty)'}"


def _abandon(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _drain(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(Exception):
        while proc.stdout is not None and proc.stdout.read(65536):
            pass


def spawn_until_ready(
    cmd: Sequence[str], ready_prefix: str, log_path: Path, timeout: float, what: str
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``cmd`` and return it with its ready line, once that line has been printed."""
    deadline = time.monotonic() + timeout
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(cmd), stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    assert proc.stdout is not None
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                _abandon(proc)
                raise ProcessNotReady(f"{what} not ready within {timeout} s.\n{log_tail(log_path)}")
            if sel.select(min(left, 0.1)):
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:  # stdout closed: the process is exiting
                    proc.wait(timeout=2)
                    raise ProcessNotReady(
                        f"{what} exited with code {proc.returncode} before it was ready.\n"
                        f"{log_tail(log_path)}"
                    )
                buf += chunk
    line = buf.split(b"\n", 1)[0].decode(errors="replace").strip()
    if not line.startswith(ready_prefix):
        _abandon(proc)
        raise ProcessNotReady(f"unexpected first line from {what}: {line!r}\n{log_tail(log_path)}")
    threading.Thread(target=_drain, args=(proc,), daemon=True).start()
    return proc, line
