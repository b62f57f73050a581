"""Make the server die with the process that started it.

nbval SIGKILLs kernels, so ``atexit`` in the kernel never runs. Two mechanisms:
Linux ``PR_SET_PDEATHSIG`` (instant, but it fires when the parent *thread* that forked us
exits, and is Linux-only), and a poller thread (the reliable part) that watches
``--parent-pid`` and ``os.getppid()``. Either one sends us SIGTERM (graceful, bounded
shutdown); if we are still alive shortly after, we hard-exit.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.2
HARD_EXIT_AFTER = 2.5


def set_pdeathsig(sig: int = signal.SIGTERM) -> bool:
    """Ask Linux to signal us when our parent dies; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed-but-unreaped parent is a zombie: treat it as gone
        with open(f"/proc/{pid}/stat", "rb") as f:  # bytes: no decoder made every poll
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _watch(parent_pid: int | None, original_ppid: int) -> None:
    while True:
        time.sleep(POLL_SECONDS)
        orphaned = os.getppid() != original_ppid
        if orphaned or (parent_pid is not None and not _alive(parent_pid)):
            break
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(HARD_EXIT_AFTER)
    os._exit(1)


def install(parent_pid: int | None) -> None:
    """Arm both mechanisms. Call early, before the event loop starts."""
    original_ppid = os.getppid()
    set_pdeathsig(signal.SIGTERM)
    if parent_pid is not None and not _alive(parent_pid):
        os._exit(1)  # the parent died before we got here
    thread = threading.Thread(
        target=_watch, args=(parent_pid, original_ppid), name="rtlab-lifeline", daemon=True
    )
    thread.start()
