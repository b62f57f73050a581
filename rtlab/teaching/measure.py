"""What an optimisation saves, counted on the wire and timed (notebook 07).

A notebook cell builds the links it teaches (``HttpLink``, ``BatchHttpLink``, a chain
with ``DedupLink``) and hands them here to be driven the same way. Every count comes from
the link's own :class:`~rtlab.graphql.wire.WireStats` (requests that reached the socket,
bytes as written and read there) and every time from ``time.perf_counter`` around the
awaits, as differences over the measurement: a cell run twice measures the same thing
again. Nothing here opens or keeps a link; the cell that made one closes it.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from rtlab.graphql.http import graphql_request, payload_of
from rtlab.graphql.links import Link, Operation, Response
from rtlab.graphql.persisted import VERSION, sha256_hex
from rtlab.graphql.wire import WireStats, stats_of

#: A page-sized query with fragments (a profile and a feed): APQ saves more the longer the
#: document, since a hash costs ~100 bytes of JSON whatever it stands for.
PROFILE_PAGE = """query ProfilePage($userId: ID!) {
  user(id: $userId) {
    ...UserCard
    postCount
    posts(limit: 10, offset: 0) { ...PostSummary comments { id content author { ...UserCard } } }
  }
  posts(limit: 5) { ...PostSummary author { ...UserCard } }
}
fragment UserCard on User { id name username email }
fragment PostSummary on Post { id title content createdAt commentCount }"""


@dataclass(frozen=True)
class Run:
    """What sending ``operations`` one way cost: counters from the wire, wall time."""

    label: str
    operations: int
    requests: int
    round_trips: int
    connections: int
    bytes_up: int
    bytes_down: int
    seconds: float
    answers: tuple[Response, ...] = field(default=(), repr=False, compare=False)


async def send(label: str, link: Link, ops: Sequence[Operation], *, at_once: bool = True,
               wire: WireStats | None = None) -> Run:
    """Send ``ops`` through ``link``: all at once (``asyncio.gather``, as widgets that
    mount together do) or one after another (an ``await`` in a loop). ``wire`` is the
    terminating link's stats when ``link`` is a chain (default: ``link.wire``)."""
    stats = wire if wire is not None else stats_of(link)
    before = stats.snapshot()
    started = time.perf_counter()
    if at_once:
        answers = list(await asyncio.gather(*(link.request(op) for op in ops)))
    else:
        answers = [await link.request(op) for op in ops]
    seconds = time.perf_counter() - started
    after = stats.snapshot()
    return Run(label, len(ops), after["requests"] - before["requests"],
               after["round_trips"] - before["round_trips"],
               after["connections"] - before["connections"],
               after["bytes_up"] - before["bytes_up"],
               after["bytes_down"] - before["bytes_down"], seconds, tuple(answers))


def table(runs: Iterable[Run]) -> str:
    """The runs side by side, one row each (the numbers vary a little from run to run)."""
    runs = list(runs)
    width = max([len(r.label) for r in runs] + [5])
    lines = [f"{'':<{width}}  {'ops':>4}  {'round trips':>11}  {'connections':>11}  "
             f"{'bytes up':>9}  {'bytes down':>10}  {'wall time':>10}"]
    for r in runs:
        lines.append(f"{r.label:<{width}}  {r.operations:>4}  {r.round_trips:>11}  "
                     f"{r.connections:>11}  {r.bytes_up:>9}  {r.bytes_down:>10}  "
                     f"{r.seconds * 1000:>7.1f} ms")
    return "\n".join(lines)


async def lone_latency(link: Link, op: Operation, n: int = 5) -> float:
    """Median seconds for ``op`` asked alone, ``n`` times one after another."""
    times = []
    for _ in range(n):
        started = time.perf_counter()
        await link.request(op)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def body_bytes(op: Operation, *, hashed: bool = False) -> int:
    """Bytes of the JSON body an ``HttpLink`` POSTs for ``op``: gql's payload, encoded as
    httpx encodes ``json=`` (compact, UTF-8). ``hashed``: the body of a persisted-query
    request instead, the document's SHA-256 in ``extensions`` and no document."""
    if hashed:
        ext = {"persistedQuery": {"version": VERSION, "sha256Hash": sha256_hex(op.query)}}
        op = replace(op, extensions={**op.extensions, **ext})
    payload = payload_of(graphql_request(op), include_query=not hashed)
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return len(text.encode("utf-8"))


def cpu_seconds(pid: int | None = None) -> float | None:
    """CPU time (user + system) a process has used so far, in seconds.

    This process: ``time.process_time()``. Another one (the demo server): the sum of its
    threads' ``/proc/<pid>/task/*/schedstat`` run times (nanoseconds; ``/proc/<pid>/stat``
    counts in 10 ms ticks, too coarse for a few hundred messages). None where ``/proc``
    cannot be read (macOS, Windows, a process that is gone).
    """
    if pid is None or pid == os.getpid():
        return time.process_time()
    tasks = Path(f"/proc/{pid}/task")
    try:
        threads = list(tasks.iterdir())
    except OSError:
        return None
    total = 0
    for thread in threads:
        try:
            total += int((thread / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended while we looked
    return total / 1e9
