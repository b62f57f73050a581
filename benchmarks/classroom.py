"""Classroom capacity: how many clients one room holds at 2 broadcasts a second, p99 <= 200 ms,
and what one delivered message costs the server.

``python -m benchmarks classroom`` (part of ``make bench``), or alone with a log of every step:
``python -m benchmarks.classroom [--quick] [--cases raw,ws,polling,sse,workers,cpu]``.

Each case gets a fresh server (:mod:`benchmarks.loadgen.targets`) and load-generator processes
(:mod:`benchmarks.loadgen`: lean clients, several processes so the generator does not
saturate first). Clients join the ``/chat`` room ``class`` (or read ``/sse/news?interval=0.5``);
a broadcaster (python-socketio's own client, signed in) sends ``chat_message`` twice a second
with its send time inside; each client records arrival minus send time (an SSE event carries
the time it was due). The count is ramped in steps; at each step the clients settle, then a
window of broadcasts is measured: p99 over every delivery expected in the window, a lost one
counting as infinitely late. The capacity is the largest step with p99 <= 200 ms; a case stops
at its first failed step or its time budget. Each step's line also gives each kind of client
apart (websocket and long-polling, same window, same rule) and the busiest generator process's
share of a core per kind: a generator near a whole core measures itself, not the server.

Cases: ``raw`` (a bare python-socketio ``AsyncServer`` under uvicorn: the baseline), the demo
server over WebSocket (``ws``), with 10 % long-polling clients (``polling``), SSE (``sse``), and
the same three with ``--workers 2 --broker redis://...`` (``workers``, ``workers-polling``,
``workers-sse``; skipped with a note on a server without those options). ``cpu``: the server's
CPU time per delivered message at a fixed class size, python-socketio's and sse-starlette's
delivery (``RTLAB_FAST_FANOUT=0``) against the fast paths, raw python-socketio beside them;
CPU is measured with no broadcast first, and that idle rate (pings, timers) is taken off.
Traffic: 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.loadgen import procstat, targets
from benchmarks.loadgen.broadcaster import Broadcaster
from benchmarks.loadgen.pool import Pool
from benchmarks.loadgen.samples import Summary
from benchmarks.report import Row, table

P99_MS = 200.0
RATE = 2.0  # broadcasts per second
ROOM = "class"
SSE_PATH = f"/sse/news?interval={1 / RATE}&ping=0"
TARGETS = {"ws": 2000, "polling": 2000, "sse": 3000}


@dataclass(frozen=True)
class Plan:
    steps: tuple[int, ...]
    window: float  # seconds of broadcasts measured per step
    settle: float  # seconds after the clients joined, before the window
    budget: float  # seconds per case, joins included
    generators: int  # load-generator processes per case
    cpu_clients: int  # class size of the CPU comparison


FULL = Plan(steps=(500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 6000), window=6.0,
            settle=1.5, budget=150.0, generators=3, cpu_clients=500)
QUICK = Plan(steps=(100, 200), window=2.0, settle=0.5, budget=40.0, generators=2,
             cpu_clients=100)


@dataclass(frozen=True)
class Case:
    key: str
    title: str
    server: str  # a kind of :mod:`benchmarks.loadgen.targets`
    polling_share: float = 0.0
    sse: bool = False

    @property
    def target(self) -> int:
        return TARGETS["sse" if self.sse else "polling" if self.polling_share else "ws"]

    def generators(self, n: int) -> dict[str, int]:
        if self.sse:
            return {"sse": n}
        return {"ws": n, **({"polling": 1} if self.polling_share else {})}


CASES = {
    "raw": Case("raw", "raw python-socketio, websocket", "raw"),
    "ws": Case("ws", "Socket.IO, websocket", "rtlab"),
    "polling": Case("polling", "Socket.IO, 10 % long-polling", "rtlab", polling_share=0.1),
    "sse": Case("sse", "SSE /sse/news", "rtlab", sse=True),
    "workers": Case("workers", "Socket.IO, websocket, 2 workers + Redis", "workers"),
    "workers-polling": Case("workers-polling", "Socket.IO, 10 % long-polling, 2 workers + "
                            "Redis", "workers", polling_share=0.1),
    "workers-sse": Case("workers-sse", "SSE /sse/news, 2 workers + Redis", "workers",
                        sse=True),
}
ALL = [*CASES, "cpu"]


@dataclass
class Step:
    clients: int
    summary: Summary | None
    cpu_us: float  # server CPU per delivered message in the window, all in, microseconds
    rss_mb: float
    note: str = ""
    #: each kind of client apart (Socket.IO with long-polling: ws and polling)
    by_kind: dict[str, Summary] = field(default_factory=dict)
    #: per kind, the busiest load-generator process's share of a core in the window
    generator_cpu: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.summary is not None and self.summary.meets(P99_MS)


@dataclass
class Result:
    case: Case
    steps: list[Step] = field(default_factory=list)
    skipped: str = ""

    @property
    def capacity(self) -> Step | None:
        best = None
        for step in self.steps:
            if not step.passed:
                break
            best = step
        return best

    @property
    def stopped_by(self) -> str:
        if self.steps and not self.steps[-1].passed:
            return f"failed at {self.steps[-1].clients:,}"
        return "did not fail within the steps and time budget"


# -- measuring --------------------------------------------------------------------------------
class Class:
    """A server under test, its listeners and (Socket.IO) its broadcaster."""

    def __init__(self, case: Case, url: str, pid: int, pool: Pool,
                 broadcaster: Broadcaster | None) -> None:
        self.case, self.url, self.pid, self.pool = case, url, pid, pool
        self.broadcaster = broadcaster

    @classmethod
    async def open(cls, case: Case, url: str, pid: int, generators: int) -> Class:
        extra = ("--path", SSE_PATH) if case.sse else ("--room", ROOM)
        pool = await Pool.start(url, case.generators(generators), extra)
        broadcaster = None if case.sse else await Broadcaster.join(url, ROOM)
        return cls(case, url, pid, pool, broadcaster)

    async def close(self) -> None:
        if self.broadcaster is not None:
            await self.broadcaster.leave()
        await self.pool.stop()

    async def grow(self, n: int) -> list[str]:
        if self.case.sse:
            return await self.pool.grow("sse", n)
        polling = round(n * self.case.polling_share)
        errors = await self.pool.grow("polling", polling) if polling else []
        return errors + await self.pool.grow("ws", n - polling)

    async def window(self, seconds: float) -> Window:
        """Broadcasts for ``seconds``, then what the clients saw and what it cost."""
        since = time.time()
        await self.pool.reset(since)
        cpu0 = procstat.cpu_seconds(self.pid)
        gen0 = self.pool.cpu_seconds()
        sent = None
        if self.broadcaster is not None:
            sent = await self.broadcaster.run(seconds, RATE)
        else:
            await asyncio.sleep(seconds)  # the feed publishes on its own clock
        until = time.time()
        generator_cpu = self.pool.busiest(gen0, self.pool.cpu_seconds(), until - since)
        await asyncio.sleep(1.0)  # the window's last messages are on their way
        cpu = procstat.cpu_seconds(self.pid) - cpu0
        summary, by_kind = await self.pool.summary(until, sent)
        return Window(summary, cpu, by_kind, generator_cpu)


@dataclass
class Window:
    summary: Summary
    cpu: float  # server CPU seconds, the window and the second after it
    by_kind: dict[str, Summary]
    generator_cpu: dict[str, float]


async def ramp(case: Case, plan: Plan, log: bool = False) -> Result:
    result = Result(case)
    if case.server == "workers" and not targets.workers_supported():
        result.skipped = "skipped: this server has no --workers/--broker yet (issue 14, part B)"
        return result
    started = time.monotonic()
    with targets.serving(case.server) as (url, pid):
        room = await Class.open(case, url, pid, plan.generators)
        try:
            for n in plan.steps:
                if time.monotonic() - started > plan.budget:
                    break
                errors = await room.grow(n)
                if errors:
                    result.steps.append(Step(n, None, math.nan, procstat.rss_bytes(pid) / 1e6,
                                             "; ".join(errors)[:200]))
                    break
                await asyncio.sleep(plan.settle)
                w = await room.window(plan.window)
                step = Step(n, w.summary, w.cpu / max(w.summary.received, 1) * 1e6,
                            procstat.rss_bytes(pid) / 1e6, by_kind=w.by_kind,
                            generator_cpu=w.generator_cpu)
                result.steps.append(step)
                if log:
                    print(f"  {case.key:8} {describe(step)}", file=sys.stderr, flush=True)
                if not step.passed:
                    break
        finally:
            await room.close()
    return result


async def cpu_per_delivery(case: Case, fast: bool, plan: Plan) -> float:
    """Microseconds of server CPU per delivered message, the idle rate taken off (Socket.IO);
    for SSE, all in (a feed is never idle: its readers' wake-ups are the delivery work)."""
    with targets.serving(case.server, fast=fast) as (url, pid):
        room = await Class.open(case, url, pid, plan.generators)
        try:
            errors = await room.grow(plan.cpu_clients)
            if errors:
                raise RuntimeError("; ".join(errors))
            await asyncio.sleep(plan.settle)
            idle = 0.0
            if not case.sse:
                cpu0 = procstat.cpu_seconds(pid)
                await asyncio.sleep(2 * plan.window)
                idle = (procstat.cpu_seconds(pid) - cpu0) / (2 * plan.window)
            w = await room.window(2 * plan.window)
        finally:
            await room.close()
    return max(w.cpu - idle * (2 * plan.window + 1), 0.0) / max(w.summary.received, 1) * 1e6


async def cpu_rows(plan: Plan, log: bool = False) -> list[Row]:
    raw = await cpu_per_delivery(CASES["raw"], True, plan)
    rows = []
    for case in (CASES["ws"], CASES["sse"]):
        before = await cpu_per_delivery(case, False, plan)
        after = await cpu_per_delivery(case, True, plan)
        if log:
            print(f"  cpu      {case.key}: {before:.1f} us before, {after:.1f} us after "
                  f"(raw python-socketio {raw:.1f} us)", file=sys.stderr, flush=True)
        rows.append(Row(
            f"server CPU per delivered message, {case.title}, {plan.cpu_clients:,} clients",
            f"{before:.1f} us without the fast path (raw python-socketio: {raw:.1f} us)",
            f"{after:.1f} us with it", f"{after / before:.2f}x (a figure, no target)", True))
    return rows


# -- report ----------------------------------------------------------------------------------
def describe(step: Step) -> str:
    s = step.summary
    if s is None:
        return f"N={step.clients:,}: connect failed ({step.note})"
    kinds = "".join(f"; {kind}: p50 {k.p50:.0f} ms, p99 {k.p99:.0f} ms, lost {k.lost}"
                    for kind, k in step.by_kind.items())
    busiest = ", ".join(f"{kind} {share:.0%}" for kind, share in step.generator_cpu.items())
    return (f"N={step.clients:,}: p50 {s.p50:.0f} ms, p99 {s.p99:.0f} ms, worst {s.worst:.0f} "
            f"ms, lost {s.lost}/{s.expected}, {step.cpu_us:.1f} us CPU/delivery all in, "
            f"RSS {step.rss_mb:.0f} MB{kinds}; busiest generator CPU: {busiest}")


def capacity_text(result: Result) -> str:
    if result.skipped:
        return result.skipped
    best = result.capacity
    if best is None or best.summary is None:
        return f"none ({result.stopped_by})"
    return f"{best.clients:,} clients (p99 {best.summary.p99:.0f} ms; {result.stopped_by})"


def capacity_rows(results: list[Result]) -> list[Row]:
    raw = next((r for r in results if r.case.key == "raw"), None)
    raw_n = raw.capacity.clients if raw and raw.capacity else 0
    baseline = f"raw python-socketio: {capacity_text(raw)}" if raw else "(raw not run)"
    out = []
    for result in results:
        if result.case.key == "raw":
            continue
        target = result.case.target
        n = result.capacity.clients if result.capacity else 0
        ratio = f"{n / raw_n:.1f}x raw" if raw_n and n else "-"
        out.append(Row(f"classroom capacity: {result.case.title} (p99 <= {P99_MS:.0f} ms)",
                       baseline, capacity_text(result), f"{ratio} (target >= {target:,})",
                       bool(result.skipped) or n >= target))
    return out


async def run_all(keys: Sequence[str], plan: Plan, log: bool = False
                  ) -> tuple[list[Result], list[Row]]:
    results = [await ramp(CASES[k], plan, log) for k in keys if k in CASES]
    rows = capacity_rows(results)
    if "cpu" in keys:
        rows += await cpu_rows(plan, log)
    return results, rows


def run(server: object = None, plan: Plan = FULL) -> list[Row]:
    """``make bench`` entry: every case, full ramp (the shared demo server is not used)."""
    return asyncio.run(run_all(ALL, plan))[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.classroom", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="two small steps per case (smoke)")
    p.add_argument("--cases", default=",".join(ALL), help=f"of {','.join(ALL)}")
    a = p.parse_args(argv)
    keys = [k for k in a.cases.split(",") if k]
    if unknown := [k for k in keys if k not in ALL]:
        p.error(f"unknown case(s) {unknown}")
    results, rows = asyncio.run(run_all(keys, QUICK if a.quick else FULL, log=True))
    print(table(rows))
    for result in results:
        print(f"\n{result.case.title}: {capacity_text(result)}")
        for step in result.steps:
            print(f"  {describe(step)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
