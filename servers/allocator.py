"""The servers run on the C library's ``malloc`` rather than CPython's pymalloc (glibc only).

Why: memory that a class used should go back to the system once the class has left.
pymalloc carves small objects out of 1 MiB arenas and returns an arena only when every
object in it is gone. A thousand Socket.IO clients joining at once spread their objects over
some 36 new arenas, and the few long-lived ones allocated at that peak (interpreter caches,
asyncio's free list of future iterators) are enough to pin nearly all of them: live
small-object bytes were back to the start's after the class left, resident memory was not.
glibc's ``malloc_trim`` (which :class:`servers.gcpolicy.Reclaimer` calls after its collection)
gives back every whole free page, wherever it lies in the heap, so a few survivors pin a few
pages, not megabytes.

Measured with ``python -m benchmarks.classroom_churn`` (10 rounds of 1,000 clients joining a
room and leaving; it runs pymalloc as its baseline in the same run): resident memory after the
last round 1.77x the start-up's with pymalloc, 1.05x with ``malloc``; server CPU per delivered
message unchanged within the noise (``python -m benchmarks.classroom --cases cpu``: 22.8 vs
20.4 us per Socket.IO delivery, 20.8 vs 17.5 us per SSE event).

``PYTHONMALLOC`` is read only while the interpreter starts, so ``python -m servers``
re-executes itself once (same process id, same arguments) with ``PYTHONMALLOC=malloc`` before
it imports anything heavy. A ``PYTHONMALLOC`` already set (``pymalloc``, ``debug``, ...) is
kept, and so is everything on a C library other than glibc.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

ENV = "PYTHONMALLOC"


def glibc_version() -> str | None:
    """``"glibc 2.36"`` on glibc, else None."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None


def wants_reexec(environ: Mapping[str, str], libc: str | None) -> bool:
    """Re-execute with ``malloc`` when nobody chose an allocator and glibc can trim."""
    return ENV not in environ and libc is not None and libc.startswith("glibc")


def use_system_malloc() -> None:
    """Replace this process by itself under ``PYTHONMALLOC=malloc``, when :func:`wants_reexec`.

    The variable stays in the environment, so worker processes inherit it and do not
    re-execute, and a second start never loops."""
    if not wants_reexec(os.environ, glibc_version()):
        return
    os.environ[ENV] = "malloc"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
