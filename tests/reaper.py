"""Run a command as a child subreaper, then report and kill what it left behind.

``python reaper.py CMD...``: orphans of CMD's process tree (a demo server whose kernel
was SIGKILLed by nbval, even one that called setsid) are re-parented to this process
instead of init. When CMD exits, any such process still alive after a short grace
period is printed (``rtlab-reaper: left running: ...``), killed, and the exit status
becomes 3 if CMD had succeeded. Linux only (``prctl(PR_SET_CHILD_SUBREAPER)``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
GRACE_S = 3.0


def _children() -> dict[int, str]:
    me, found = os.getpid(), {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) != me or fields[0] == "Z":
                continue
            with open(f"/proc/{name}/cmdline", "rb") as f:
                found[int(name)] = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
    return found


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main() -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    proc = subprocess.Popen(sys.argv[1:])
    while True:
        try:
            rc = proc.wait()
            break
        except KeyboardInterrupt:  # the caller's SIGINT reached us too: let CMD wind down
            continue
    deadline = time.monotonic() + GRACE_S
    while True:
        _reap()
        left = _children()
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if left:
        for pid, cmdline in sorted(left.items()):
            print(f"rtlab-reaper: left running: {pid}: {cmdline.strip()[:200]}", flush=True)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
        _reap()
        return rc or 3
    return rc


if __name__ == "__main__":
    sys.exit(main())
