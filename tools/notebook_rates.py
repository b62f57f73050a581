"""What each chapter notebook sends a classroom server, and in what bursts: the measurement
behind the per-client message limit (``servers/classroom/limits.py``).

Usage: ``python tools/notebook_rates.py [notebooks/NN-name.ipynb ...]`` (default: every
chapter notebook, ``notebooks/[0-9][0-9]-*.ipynb``).

It starts a classroom server on 127.0.0.1 whose message limit never refuses but writes down
when each message it counts arrives (an HTTP request, a WebSocket frame, a Socket.IO event),
per client id; runs each notebook top to bottom under ``RTLAB_SERVER`` (its own client id,
as a student's kernel), then lets it sit idle for ``IDLE_S`` seconds; and prints, per
notebook: the messages by kind, the busiest second, the rate while idle, and the smallest
bucket (burst) a token bucket needs at each sustained rate to let every one through.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

RATES = (5, 10, 20, 50)  # sustained messages per second to size a bucket for
IDLE_S = 10  # after the last cell: what a notebook left open keeps sending
IDLE = f"import time, asyncio\nprint(time.monotonic())\nawait asyncio.sleep({IDLE_S})"
JOIN = "rates"
#: who calls ``Admission.message``, by function name: what kind of message it counts
CALLERS = {"__call__": "http", "metered_receive": "frame", "admit_event": "event"}


def burst_needed(times: list[float], rate: float) -> int:
    """The smallest bucket that passes every message of ``times`` (sorted) at ``rate``/s:
    ``max over i <= j of (j - i + 1) - rate * (t_j - t_i)``, rounded up."""
    best, ahead = 0.0, float("-inf")
    for j, t in enumerate(times):
        ahead = max(ahead, rate * t - j)  # the best i <= j
        best = max(best, j + 1 - rate * t + ahead)
    return int(-(-best // 1))


def busiest_second(times: list[float]) -> int:
    best, i = 0, 0
    for j, t in enumerate(times):
        while t - times[i] >= 1.0:
            i += 1
        best = max(best, j - i + 1)
    return best


def serve(record: str, argv: list[str]) -> None:
    """The server, with a message limit that records instead of refusing."""
    from servers import __main__ as main
    from servers.classroom import limits

    out = open(record, "a", buffering=1)  # noqa: SIM115 (open for the process's life)

    async def message(self, client: str):
        caller = sys._getframe(1).f_code.co_name  # which of the three counts it
        kind = CALLERS.get(caller, caller)
        out.write(f"{client} {time.monotonic():.6f} {kind}\n")
        return None

    limits.Admission.message = message
    main.main(argv)


@dataclass
class Sent:
    """What one notebook sent: arrival times (sorted) by kind, and when it fell idle."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    idle_from: float = float("inf")

    @property
    def all(self) -> list[float]:
        return sorted(t for ts in self.times.values() for t in ts)


def run(notebooks: list[Path]) -> dict[str, Sent]:
    import nbformat
    from nbclient import NotebookClient

    from rtlab.labapp import isolation_env
    from rtlab.process import spawn_until_ready, terminate

    scratch = Path(tempfile.mkdtemp(prefix="rtlab-rates-"))
    record = scratch / "messages.txt"
    cmd = [sys.executable, __file__, "--serve", str(record), "--host", "127.0.0.1",
           "--port", "0", "--classroom", "--join-token", JOIN, "--no-qr",
           "--instructor-file", str(scratch / "instructor")]
    proc, line = spawn_until_ready(cmd, "rtlab servers ready on ", scratch / "server.log", 10,
                                   "server")
    os.environ.update(isolation_env())
    os.environ["RTLAB_SERVER"] = f"{line.rsplit(' ', 1)[1]}/?join={JOIN}"
    sent: dict[str, Sent] = defaultdict(Sent)
    try:
        for path in notebooks:
            os.environ["RTLAB_NAME"] = name = path.stem[:2]
            nb = nbformat.read(path, as_version=4)
            nb.cells.append(nbformat.v4.new_code_cell(IDLE))
            started = time.monotonic()
            NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                           resources={"metadata": {"path": str(path.parent)}}).execute()
            errors = [o.get("ename") for c in nb.cells for o in c.get("outputs", [])
                      if o.get("output_type") == "error"]
            idle = [o.get("text", "") for o in nb.cells[-1].outputs]
            sent[name].idle_from = float(idle[0]) if idle else float("inf")
            print(f"ran {path.name} in {time.monotonic() - started:.1f} s"
                  + (f", errors: {errors}" if errors else ""), file=sys.stderr)
    finally:
        terminate(proc, 5)
    for row in record.read_text().splitlines():
        client, t, kind = row.split()
        sent[client.split("-", 1)[0]].times[kind].append(float(t))
    return dict(sorted(sent.items()))


def report(sent: dict[str, Sent]) -> str:
    kinds = ("http", "frame", "event")
    head = (f"{'notebook':>8} {'messages':>8} " + " ".join(f"{k:>6}" for k in kinds)
            + f" {'busiest 1 s':>11} {'idle/s':>6}  "
            + "  ".join(f"burst@{r}/s" for r in RATES))
    lines = [head]
    for name, s in sent.items():
        times = s.all
        idle = sum(t >= s.idle_from for t in times) / IDLE_S
        cells = "  ".join(f"{burst_needed(times, r):>{len(f'burst@{r}/s')}}" for r in RATES)
        lines.append(f"{name:>8} {len(times):>8} "
                     + " ".join(f"{len(s.times.get(k, ())):>6}" for k in kinds)
                     + f" {busiest_second(times):>11} {idle:>6.1f}  {cells}")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--serve"]:
        serve(argv[1], argv[2:])
        return
    paths = [Path(p).resolve() for p in argv] or sorted(
        (REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    print(report(run(paths)))


if __name__ == "__main__":
    main(sys.argv[1:])
