"""Memory over churn: 10 rounds of 1,000 Socket.IO clients joining the class room and leaving.

``python -m benchmarks classroom_churn`` (part of ``make bench``) or
``python -m benchmarks.classroom_churn [--quick]``. A fresh demo server; each round the load
generator (:mod:`benchmarks.loadgen`, WebSocket clients) opens 1,000 clients that join
``/chat`` room ``class``, then all of them leave (a close frame each, as a browser tab does);
the round ends when the server counts no Socket.IO connection left (``/_chaos/stats``).
Before the readings that count (after round 1 and after the last round) the server gets
:data:`SETTLE` seconds: engineio's ping task keeps a closed session for up to its ping
interval (10 s), so memory read at once still holds the last sessions.

Rows: resident memory after the last round against the start-up (the target, within 10 %),
and against round 1, after the first thousand clients have sized the allocator's heap: what
stays from round 1 on is freed memory the allocator keeps (fragmentation), while a leak would
grow from round to round. The server runs as ``make classroom`` starts one, on the C
library's ``malloc`` (``PYTHONMALLOC=malloc``); the same churn on CPython's own allocator
(pymalloc) runs first as the baseline.

Why the allocator decides it: pymalloc carves small objects out of 1 MiB arenas and returns an
arena only once every object in it is gone. A thousand clients joining at once spread their
objects over some 36 new arenas, and the few long-lived objects allocated at that peak
(interpreter caches, asyncio's free list of future iterators) pin nearly all of them: live
small-object bytes come back to the start's, resident memory does not. glibc's
``malloc_trim`` (which :class:`servers.gcpolicy.Reclaimer` calls after its collection) gives
back every whole free page wherever it lies, so a few survivors pin a few pages.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass

import httpx

from benchmarks.loadgen import procstat
from benchmarks.loadgen.pool import Pool
from benchmarks.loadgen.targets import environment
from benchmarks.report import Row
from rtlab.lab import ServerProcess

TARGET = 1.10  # last round / start
SETTLE = 16.0  # seconds: engineio's ping interval (10) + ping timeout (5) + 1


@dataclass(frozen=True)
class Plan:
    rounds: int
    clients: int


FULL = Plan(rounds=10, clients=1000)
QUICK = Plan(rounds=3, clients=100)


async def gone(url: str, timeout: float = 60) -> None:
    """Until the server counts no Socket.IO connection (its disconnects all handled)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
        while time.monotonic() < deadline:
            if (await http.get(f"{url}/_chaos/stats")).json()["socketio"] == 0:
                return
            await asyncio.sleep(0.2)  # a benchmark polls the server's own count; bounded
    raise TimeoutError("the server still counts Socket.IO connections")


@dataclass(frozen=True)
class Churn:
    allocator: str  # the server's PYTHONMALLOC
    rss: list[float]  # MB: after start-up, then after each round

    @property
    def start(self) -> float:
        return self.rss[0]

    @property
    def first(self) -> float:
        return self.rss[1]

    @property
    def last(self) -> float:
        return self.rss[-1]


async def churn(plan: Plan, allocator: str, log: bool = False) -> Churn:
    """RSS after start-up and after each round, the server on ``PYTHONMALLOC=allocator``."""
    with environment(PYTHONMALLOC=allocator):
        server = ServerProcess.launch(timeout=30)
    try:
        assert server.pid is not None
        pool = await Pool.start(server.url, {"ws": 2})
        rss = [procstat.rss_bytes(server.pid) / 1e6]
        try:
            for n in range(plan.rounds):
                errors = await pool.grow("ws", plan.clients)
                if errors:
                    raise RuntimeError(f"round {n + 1}: {'; '.join(errors)}")
                await pool.close_clients()
                await gone(server.url)
                if n in (0, plan.rounds - 1):
                    await asyncio.sleep(SETTLE)
                rss.append(procstat.rss_bytes(server.pid) / 1e6)
                if log:
                    print(f"  churn ({allocator}) round {n + 1}: RSS "
                          f"{rss[-1]:.1f} MB", file=sys.stderr, flush=True)
        finally:
            await pool.stop()
    finally:
        server.stop()
    return Churn(allocator, rss)


async def both(plan: Plan, log: bool = False) -> tuple[Churn, Churn]:
    """The baseline (pymalloc) churn, then the server on malloc, as ``make classroom`` runs it."""
    return await churn(plan, "pymalloc", log), await churn(plan, "malloc", log)


def rows(baseline: Churn, ours: Churn, plan: Plan) -> list[Row]:
    what = f"{plan.rounds} rounds of {plan.clients:,} Socket.IO clients joining and leaving"
    allocator = ours.allocator
    return [
        Row(f"memory over churn: {what} (server on {allocator})",
            f"{ours.start:.1f} MB RSS after start-up",
            f"{ours.last:.1f} MB after the last round",
            f"{ours.last / ours.start:.3f} (target <= {TARGET})", ours.last / ours.start <= TARGET),
        Row(f"memory over churn, rounds 2-{plan.rounds} (a leak grows here)",
            f"{ours.first:.1f} MB RSS after round 1",
            f"{ours.last:.1f} MB after the last round",
            f"{ours.last / ours.first:.3f} (target <= {TARGET})",
            ours.last / ours.first <= TARGET),
        Row(f"memory over churn, the same on pymalloc: last round / start-up, {allocator} "
            "against pymalloc", f"{baseline.last / baseline.start:.3f} with pymalloc "
            f"({baseline.start:.1f} -> {baseline.last:.1f} MB)",
            f"{ours.last / ours.start:.3f} with {allocator}",
            f"{(ours.last / ours.start) / (baseline.last / baseline.start):.2f}x (a figure, no "
            "target)", True),
    ]


def run(server: object = None, plan: Plan = FULL) -> list[Row]:
    """``make bench`` entry (fresh servers of its own; the shared one is not used)."""
    return rows(*asyncio.run(both(plan)), plan)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.classroom_churn", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="3 rounds of 100 (smoke)")
    plan = QUICK if p.parse_args(argv).quick else FULL
    baseline, ours = asyncio.run(both(plan, log=True))
    from benchmarks.report import table

    print(table(rows(baseline, ours, plan)))
    for c in (baseline, ours):
        print(f"RSS (MB, {c.allocator}): " + ", ".join(f"{r:.1f}" for r in c.rss))
    return 0


if __name__ == "__main__":
    sys.exit(main())
