"""The servers a classroom benchmark runs against, each fresh, on 127.0.0.1.

- ``raw``: :mod:`benchmarks.loadgen.raw_server`, a bare python-socketio server (the baseline);
- ``rtlab``: ``python -m servers`` (``fast=False`` sets ``RTLAB_FAST_FANOUT=0`` in its
  environment: python-socketio's and sse-starlette's own delivery, for a before/after);
- ``workers``: ``python -m servers --workers 2 --broker redis://...`` with a throw-away
  ``redis-server`` (Debian's) in a temp dir, when the server has those options.

Each yields ``(url, pid)``; with workers the pid is the parent, and :mod:`procstat` sums
CPU and memory over it and its children.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.loadgen.raw_server import READY as RAW_READY
from rtlab.lab import ServerProcess
from rtlab.process import spawn_until_ready, terminate

KINDS = ("raw", "rtlab", "workers")


def workers_supported() -> bool:
    help_text = subprocess.run([sys.executable, "-m", "servers", "--help"], capture_output=True,
                               text=True, timeout=30).stdout
    return "--workers" in help_text and "--broker" in help_text


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A ``redis-server`` on a free loopback port, no persistence; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", tempfile.mkdtemp(prefix="rtlab-redis-")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)  # a child's port, no event to wait on
        yield f"redis://127.0.0.1:{port}"
    finally:
        terminate(proc, 5)


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """``os.environ`` with ``values`` set, for the servers started inside."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def serving(kind: str, fast: bool = True) -> Iterator[tuple[str, int]]:
    if kind == "raw":
        log = Path(tempfile.mkdtemp(prefix="rtlab-raw-sio-")) / "raw.log"
        proc, line = spawn_until_ready([sys.executable, "-m", "benchmarks.loadgen.raw_server"],
                                       RAW_READY, log, 10, "raw python-socketio server")
        try:
            yield line[len(RAW_READY):].strip(), proc.pid
        finally:
            terminate(proc, 5)
        return
    with contextlib.ExitStack() as stack:
        extra: tuple[str, ...] = ()
        if kind == "workers":
            extra = ("--workers", "2", "--broker", stack.enter_context(redis_server()))
        with environment(RTLAB_FAST_FANOUT="1" if fast else "0"):
            server = ServerProcess.launch(extra_args=extra, timeout=30)
        stack.callback(server.stop)
        assert server.pid is not None
        yield server.url, server.pid
