"""The fuzz run: seeded bad inputs, protocol by protocol, against one real server process.

Input ``i`` of protocol ``p`` under seed ``s`` is generated from ``random.Random(f"{s}/{p}/{i}")``
alone, so it is the same whatever ran before it or beside it: a failure prints the seed,
protocol and index, and ``python -m tests.fuzz --seed S --protocol P --index I`` sends that one
input again. Inputs of one protocol run a few at a time (the chaos protocol alone, its faults
undone after each); the server log is read after each protocol, so tracebacks are counted
where they happened. The run goes twice over every protocol (two rounds, fresh indexes) and
compares memory after each round: the second round must not keep growing it.

What counts against the server: an HTTP status >= 500, a WebSocket close code 1011, a
connection that ends with no answer or no close frame, a traceback in the log, normal traffic
failing afterwards, memory growing in the second round by more than :data:`RSS_GROWTH_MB`.
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from rtlab.lab import ServerProcess
from tests.fuzz import health
from tests.fuzz.http_inputs import SSE, Auth, Chaos, GraphQLHTTP, Handshake
from tests.fuzz.values import Gen
from tests.fuzz.wire import Outcome, Target
from tests.fuzz.ws_inputs import GraphQLWS, RawWS, SocketIO, WSFrames

#: every protocol and its share of the inputs
PROTOCOLS: tuple[tuple[Any, float], ...] = (
    (GraphQLHTTP(), 0.19), (GraphQLWS(), 0.16), (RawWS(), 0.12), (SocketIO(), 0.16),
    (SSE(), 0.09), (Auth(), 0.07), (Chaos(), 0.05), (Handshake(), 0.09), (WSFrames(), 0.07),
)
CONCURRENCY = 8
CASE_TIMEOUT = 20.0
RSS_GROWTH_MB = 40.0
SHOWN = 400  # characters of an input shown in a failure report


def make_case(seed: int, protocol: Any, index: int) -> dict[str, Any]:
    return protocol.make(Gen(random.Random(f"{seed}/{protocol.name}/{index}")))


def by_name(name: str) -> Any:
    for protocol, _share in PROTOCOLS:
        if protocol.name == name:
            return protocol
    raise KeyError(f"no protocol {name!r}; known: {[p.name for p, _ in PROTOCOLS]}")


@dataclass
class Tally:
    inputs: int = 0
    server_errors: int = 0
    internal_closes: int = 0
    dropped: int = 0
    tracebacks: int = 0
    seconds: float = 0.0
    answers: collections.Counter[str] = field(default_factory=collections.Counter)


@dataclass
class Failure:
    protocol: str
    index: int
    what: str
    case: dict[str, Any]

    def __str__(self) -> str:
        shown = repr(self.case)
        if len(shown) > SHOWN:
            shown = shown[:SHOWN] + f"... ({len(shown)} chars)"
        return f"{self.protocol} #{self.index}: {self.what}\n    input: {shown}"


@dataclass
class Report:
    seed: int
    tallies: dict[str, Tally] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)  # at start, after round 1, after round 2
    unhealthy: list[str] = field(default_factory=list)

    @property
    def inputs(self) -> int:
        return sum(t.inputs for t in self.tallies.values())

    @property
    def rss_growth_round2(self) -> float:
        return self.rss_mb[-1] - self.rss_mb[-2] if len(self.rss_mb) >= 3 else 0.0

    @property
    def ok(self) -> bool:
        bad = sum(t.server_errors + t.internal_closes + t.dropped + t.tracebacks
                  for t in self.tallies.values())
        return not bad and not self.unhealthy and self.rss_growth_round2 <= RSS_GROWTH_MB

    def table(self) -> str:
        rows = ["| protocol | inputs | 5xx | 1011 | dropped without close | tracebacks | s |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        total = Tally()
        for name, t in self.tallies.items():
            rows.append(f"| {name} | {t.inputs} | {t.server_errors} | {t.internal_closes} | "
                        f"{t.dropped} | {t.tracebacks} | {t.seconds:.0f} |")
            for attr in ("inputs", "server_errors", "internal_closes", "dropped", "tracebacks",
                         "seconds"):
                setattr(total, attr, getattr(total, attr) + getattr(t, attr))
        rows.append(f"| **all** | {total.inputs} | {total.server_errors} | "
                    f"{total.internal_closes} | {total.dropped} | {total.tracebacks} | "
                    f"{total.seconds:.0f} |")
        rows.append("")
        rows.append("what the server answered (most frequent first):")
        for name, t in self.tallies.items():
            common = ", ".join(f"{what} x{n}" for what, n in t.answers.most_common(8))
            rows.append(f"- {name}: {common}")
        rss = " -> ".join(f"{m:.0f}" for m in self.rss_mb)
        rows.append("")
        rows.append(f"seed {self.seed}; server RSS MiB (start -> round 1 -> round 2): {rss}; "
                    f"normal traffic afterwards: {'ok' if not self.unhealthy else self.unhealthy}")
        return "\n".join(rows)


class Context:
    """What a protocol's ``send`` gets: the target and a shared HTTP client."""

    def __init__(self, target: Target, http: httpx.AsyncClient) -> None:
        self.target = target
        self.http = http


def judge(outcome: Outcome) -> list[str]:
    found = []
    if outcome.server_error:
        found.append(f"HTTP {[s for s in outcome.statuses if s >= 500]}")
    if outcome.internal_close:
        found.append("close 1011")
    if outcome.dropped:
        found.append(f"dropped: {outcome.dropped}")
    return found


async def run_protocol(protocol: Any, indexes: Sequence[int], seed: int, ctx: Context,
                       tally: Tally, failures: list[Failure]) -> None:
    limit = asyncio.Semaphore(1 if getattr(protocol, "exclusive", False) else CONCURRENCY)

    async def one(index: int) -> None:
        async with limit:
            case = make_case(seed, protocol, index)
            try:
                async with asyncio.timeout(CASE_TIMEOUT):
                    outcome = await protocol.send(case, ctx)
            except TimeoutError:
                outcome = Outcome(dropped=f"the input took over {CASE_TIMEOUT} s")
            tally.inputs += 1
            tally.answers.update(f"HTTP {s}" for s in outcome.statuses)
            tally.answers.update(f"close {c}" for c in outcome.closes)
            found = judge(outcome)
            tally.server_errors += outcome.server_error
            tally.internal_closes += outcome.internal_close
            tally.dropped += outcome.dropped is not None
            if found:
                failures.append(Failure(protocol.name, index, "; ".join(found), case))

    await asyncio.gather(*(one(i) for i in indexes))


def shares(total: int) -> dict[str, int]:
    """Inputs per protocol for ``total`` inputs (each protocol gets at least one)."""
    return {p.name: max(1, round(total * share)) for p, share in PROTOCOLS}


async def fuzz(server: ServerProcess, total: int, seed: int,
               only: str | None = None, index: int | None = None) -> Report:
    """Run ``total`` inputs (two rounds) against ``server``; or the one input ``index``."""
    report = Report(seed)
    target = Target(server.port)
    counts = shares(total)
    log_seen = len(server.log_text())
    assert server.pid is not None
    report.rss_mb.append(health.rss_mb(server.pid))
    limits = httpx.Limits(max_connections=CONCURRENCY * 2, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits) as http:
        ctx = Context(target, http)
        for round_ in (0, 1):
            for protocol, _share in PROTOCOLS:
                if only is not None and protocol.name != only:
                    continue
                n = counts[protocol.name]
                half = n // 2 if round_ == 0 else n - n // 2
                start = 0 if round_ == 0 else n // 2
                indexes = [index] if index is not None else range(start, start + half)
                if index is not None and round_ == 1:
                    continue
                tally = report.tallies.setdefault(protocol.name, Tally())
                t0 = time.monotonic()
                await run_protocol(protocol, indexes, seed, ctx, tally, report.failures)
                await asyncio.sleep(0.2)  # let the server finish logging what it handled
                log = server.log_text()
                new = log[log_seen:]
                log_seen = len(log)
                found = health.tracebacks(new)
                tally.tracebacks += found
                if found:
                    report.failures.append(Failure(protocol.name, -1, f"{found} traceback(s)",
                                                   {"log": health.first_traceback(new)}))
                tally.seconds += time.monotonic() - t0
            report.rss_mb.append(health.rss_mb(server.pid))
    report.unhealthy = await health.normal_traffic(target)
    return report
