"""A private ``redis-server`` (Debian's) for tests and benchmarks: loopback only, a free port,
its files in a temp dir, nothing saved, stopped (and the dir removed) by :meth:`stop`.

    with RedisProcess.start() as redis:
        run("python -m servers --workers 2 --broker " + redis.url)
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

READY = b"Ready to accept connections"
HOST = "127.0.0.1"


class RedisNotAvailable(RuntimeError):
    """No redis-server on this machine, or it would not start."""


def executable() -> str:
    path = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if path is None:
        raise RedisNotAvailable(
            "redis-server is not installed (Debian: apt-get install redis-server; "
            "tools/setup-system test installs it)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class RedisProcess:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, workdir: Path) -> None:
        self.proc = proc
        self.port = port
        self.workdir = workdir

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}"

    @classmethod
    def start(cls, timeout: float = 10.0, attempts: int = 3) -> RedisProcess:
        binary = executable()
        for attempt in range(attempts):
            workdir = Path(tempfile.mkdtemp(prefix="rtlab-redis-"))
            port = free_port()
            cmd = [binary, "--bind", HOST, "--port", str(port), "--dir", str(workdir),
                   "--save", "", "--appendonly", "no", "--protected-mode", "yes",
                   "--daemonize", "no", "--logfile", ""]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            log = _until_ready(proc, timeout)
            if log is None:
                return cls(proc, port, workdir)
            shutil.rmtree(workdir, ignore_errors=True)
            if attempt == attempts - 1 or b"Address already in use" not in log:
                text = log.decode(errors="replace")
                raise RedisNotAvailable(f"redis-server did not start:\n{text}")
        raise AssertionError("unreachable")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RedisProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _until_ready(proc: subprocess.Popen[bytes], timeout: float) -> bytes | None:
    """None once redis says it is ready; else what it printed before it exited or stalled."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    out = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while READY not in out:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not sel.select(min(left, 0.2)):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:  # it exited
                break
            out += chunk
        else:
            threading.Thread(target=_drain, args=(fd,), daemon=True).start()
            return None
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    proc.wait()
    return out or b"(no output)"


def _drain(fd: int) -> None:
    """Keep reading redis's log so it never blocks on a full pipe."""
    with contextlib.suppress(OSError):
        while os.read(fd, 65536):
            pass
