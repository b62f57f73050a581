"""Server ready after process start, next to a bare interpreter start in the same run.

The ready time is measured from ``Popen`` to the ``rtlab servers ready`` line
(target: <= 1.0 s); the baseline is ``python -c pass``, so a slow machine shows
up in both columns.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from benchmarks.report import Row
from rtlab.lab import ServerProcess

TARGET_S = 1.0


def _bare_start() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t0


def _server_start() -> float:
    t0 = time.perf_counter()
    server = ServerProcess.launch()
    elapsed = time.perf_counter() - t0
    server.stop()
    return elapsed


def measure(runs: int = 5) -> dict[str, float]:
    bare = statistics.median(_bare_start() for _ in range(runs))
    ready = statistics.median(_server_start() for _ in range(runs))
    return {"bare python (s)": bare, "server ready (s)": ready, "ratio": ready / bare}


def run(server: object) -> list[Row]:
    boot = measure()
    return [
        Row(
            "server ready after process start (median of 5)",
            f"{boot['bare python (s)']:.3f} s python -c pass",
            f"{boot['server ready (s)']:.3f} s python -m servers",
            f"{boot['ratio']:.1f}x bare python (target <= {TARGET_S} s)",
            boot["server ready (s)"] <= TARGET_S,
        )
    ]
