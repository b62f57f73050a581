"""The fault matrix: break a server under four clients at once and count what each did.

A row is one fault on one server, with one :mod:`probe <rtlab.teaching.probes>` per
transport connected and their numbered messages flowing. :func:`run_row` breaks the server,
holds the fault, mends it, and asks every probe the same questions, which become a
:class:`Cell`:

* **recovered**: did a message *made after the fault struck* arrive (a receipt already on
  its way does not count), and **back after** how many seconds, counted from the moment the
  server could serve again (restarted, thawed, no longer refusing; at once for a drop or a
  freeze of the open links only, since new connections work there);
* **noticed after**: how long the client took to leave ``connected`` (``None``: it never did);
* **lost** and **duplicated**, each by the probe's own promise; **bound**: the client's
  stated bound for being back, and whether it kept it.

The faults (:data:`~rtlab.teaching.results.FAULTS`): ``kill`` (SIGKILL, down for ``hold``
s, restart on the same port), ``sigstop`` (the whole process stopped for ``hold`` s: a hung
server), ``freeze`` (the lab's ``/_chaos/freeze``: open connections stop reading and
writing, new ones work; held until every probe is back or ``hold`` s), ``drop`` (every open
connection reset), ``reject`` (every new connection answered ``503`` for ``hold`` s, then
every open one reset), and ``proxy`` (no break: the clients connect through a proxy that
refuses WebSocket upgrades), and ``malformed`` (each client sends, on its live link, a
message the server cannot use: the link must stay).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from rtlab import proxy
from rtlab.lab import ServerProcess
from rtlab.state import ConnectionState
from rtlab.teaching.probes import Probe, four
from rtlab.teaching.results import FAULTS, Cell, Window, grid, table

S = ConnectionState
#: seconds a ``reject`` may outlast its hold while a client has not yet met a refusal
REFUSAL_WAIT = 10.0


async def inject(fault: str, server: Any, *, hold: float,
                 until_back: Callable[[float], Awaitable[Any]] | None = None,
                 until_refused: Callable[[float], Awaitable[Any]] | None = None) -> Window:
    """Break ``server`` with ``fault``, hold it ``hold`` seconds, mend it; when it was what.

    ``until_back(struck)`` (the freeze only: nothing else lets clients back while it
    holds) ends the hold early when it returns: every client came back.
    ``until_refused(struck)`` (the reject only) makes the hold last until it returns (at
    most :data:`REFUSAL_WAIT` s more): every client met a refusal, so what the row shows is
    what a client does with a ``503``, not whether its retry happened to come late.
    """
    started = time.monotonic()
    if fault == "kill":
        server.kill()
        struck = time.monotonic()
        await asyncio.sleep(hold)  # the outage itself
        await asyncio.to_thread(server.restart)
        return Window(started, struck, time.monotonic())
    if fault == "sigstop":
        server.freeze()
        struck = time.monotonic()
        try:
            await asyncio.sleep(hold)
        finally:
            server.thaw()
        return Window(started, struck, time.monotonic())
    if fault == "freeze":
        await server.chaos.afreeze()
        struck = time.monotonic()
        try:
            if until_back is None:
                await asyncio.sleep(hold)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(until_back(struck), hold)
        finally:
            await server.chaos.athaw()
        return Window(started, struck, struck)
    if fault == "drop":
        await server.chaos.adrop("all")
        struck = time.monotonic()
        return Window(started, struck, struck)
    if fault == "reject":
        await server.chaos.areject(503, hold + REFUSAL_WAIT)
        await server.chaos.adrop("all")
        struck = time.monotonic()
        try:
            await asyncio.sleep(hold)  # the outage itself
            if until_refused is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(until_refused(struck), REFUSAL_WAIT)
        finally:
            await server.chaos.areset()
        return Window(started, struck, time.monotonic())
    if fault == "proxy":
        return Window(started, started, started)
    raise ValueError(f"unknown fault {fault!r}; one of {sorted(FAULTS)}")


def _gone(probe: Probe) -> bool:
    return bool(probe.stopped) or probe.state in (S.ERROR, S.DISCONNECTED)


async def run_row(fault: str, server: Any, probes: Sequence[Probe], *, hold: float = 1.0,
                  slack: float = 1.0, drain: float = 2.0, tail: int = 5) -> list[Cell]:
    """One fault under ``probes`` (not started yet; closed when the row is done).

    ``hold``: how long the fault lasts (the freeze: at most). ``slack``: seconds granted
    beyond each probe's bound before it counts as not back. ``drain``: seconds for what
    was made to arrive once nothing new is made. ``tail``: receipts each probe must see
    after its recovery before the row ends (so a loss right after a reconnect shows).
    """
    try:
        started = time.monotonic()
        await asyncio.gather(*(p.start() for p in probes))
        await asyncio.gather(*(p.ledger.until(
            lambda p=p: len(p.ledger.got) >= 3 or _gone(p), 5.0) for p in probes))
        if fault == "proxy":  # the fault is the way in: it struck before the start
            window = Window(started, started, started)
        elif fault == "malformed":  # the clients are the fault: each sends one bad message
            begun = time.monotonic()
            await asyncio.gather(*(p.malformed() for p in probes))
            struck = time.monotonic()
            window = Window(begun, struck, struck)
        else:
            window = await inject(fault, server, hold=hold,
                                  until_back=lambda struck: _all_back(probes, struck),
                                  until_refused=lambda struck: _all_refused(probes, struck))
        await asyncio.gather(*(_back(p, fault, window, slack) for p in probes))
        await asyncio.gather(*(p.ledger.until(
            lambda p=p: _tail_seen(p, window.struck, tail) or _gone(p), 2.0) for p in probes))
        for p in probes:
            await p.stop_making()
        await asyncio.gather(*(p.drain(drain) for p in probes))
        return [cell(p, fault, window) for p in probes]
    finally:
        await asyncio.gather(*(p.close() for p in probes), return_exceptions=True)


async def _all_back(probes: Sequence[Probe], struck: float) -> None:
    """Returns once every probe delivered a message made after ``struck`` (or stopped)."""
    await asyncio.gather(*(p.ledger.until(
        lambda p=p: p.recovered_at(struck) is not None or _gone(p), 3600) for p in probes))


def _refused(probe: Probe, struck: float) -> bool:
    """Since ``struck``, an attempt to connect ended without connecting (or the probe is
    gone): the client met the refusal."""
    after = [e.state for e in probe.transitions if e.t >= struck]
    return _gone(probe) or any(a is S.CONNECTING and b is not S.CONNECTED
                               for a, b in zip(after, after[1:], strict=False))


async def _all_refused(probes: Sequence[Probe], struck: float) -> None:
    await asyncio.gather(*(p.ledger.until(lambda p=p: _refused(p, struck), 3600)
                           for p in probes))


async def _back(probe: Probe, fault: str, window: Window, slack: float) -> None:
    bound = probe.bound(fault) or 0.0
    left = window.mended + bound + slack - time.monotonic()
    await probe.ledger.until(
        lambda: probe.recovered_at(window.struck) is not None or _gone(probe), max(left, 0.1))


def _tail_seen(probe: Probe, struck: float, tail: int) -> bool:
    recovered = probe.recovered_at(struck)
    if recovered is None:
        return False
    return sum(1 for _key, at in probe.ledger.got if at >= recovered) > tail


def cell(probe: Probe, fault: str, window: Window) -> Cell:
    """What ``probe`` did in ``window`` (call once its row is over)."""
    recovered = probe.recovered_at(window.struck)
    left = probe.left_connected(window.started)
    stopped = probe.stopped
    if not stopped and probe.state is S.ERROR:
        stopped = _stop_reason(probe)
    return Cell(
        transport=probe.transport,
        fault=fault,
        recovered=recovered is not None,
        back_after=None if recovered is None else max(0.0, recovered - window.mended),
        noticed_after=None if left is None else max(0.0, left - window.started),
        delivered=len(probe.ledger.got),
        lost=len(probe.lost()),
        duplicated=probe.duplicated(),
        bound=probe.bound(fault),
        stopped=stopped,
        notes=tuple(([probe.answered] if probe.answered else []) + probe.notes()),
    )


def _stop_reason(probe: Probe) -> str:
    client = getattr(probe, "client", None)
    failure = getattr(client, "failure", None) or getattr(client, "stop_reason", "")
    link = getattr(probe, "link", None)
    if not failure and link is not None:
        failure = getattr(link, "failure", None) or ""
    return " ".join(str(failure).split()) or "stopped"




ProbeMaker = Callable[..., list[Probe]]
#: How long each fault lasts in a notebook's matrix, seconds: long enough for every
#: heartbeat above to notice a freeze (0.5 s), short enough for a cell.
HOLDS = {"kill": 0.5, "sigstop": 1.0, "freeze": 1.0, "reject": 0.5}


async def matrix(server: Any, rows: Sequence[str] = ("kill", "freeze", "drop", "reject",
                                                     "proxy"),
                 *, probes: ProbeMaker = four, holds: Mapping[str, float] | None = None,
                 **knobs: Any) -> list[Cell]:
    """Every row at once, each fault on a fresh server of its own (stopped afterwards);
    ``proxy`` goes through a blocking proxy in front of ``server``, which is not broken,
    unless ``server`` is a shared classroom server (``server.remote``): then in front of a
    fresh one too, so the matrix's traffic stays off the class's server.

    ``probes(base, origin, **knobs)`` makes a row's probes (default: one per transport);
    ``knobs`` (``period``, ``heartbeat``, ...) go to every probe; ``holds`` says how long
    each fault lasts (default :data:`HOLDS`). The cells come back row by row, in the order
    of ``rows``.
    """
    holds = {**HOLDS, **(holds or {})}
    shared = getattr(server, "remote", False)
    fresh = [fault for fault in rows if fault != "proxy" or shared]
    servers = list(await asyncio.gather(*(asyncio.to_thread(ServerProcess.launch)
                                          for _ in fresh)))
    try:
        spare = iter(servers)
        jobs = []
        for fault in rows:
            if fault == "proxy":
                behind = next(spare) if shared else server
                blocking = await asyncio.to_thread(proxy.start, behind)
                made = probes(blocking, behind, **knobs)
                jobs.append(run_row(fault, behind, made))
            else:
                own = next(spare)
                jobs.append(run_row(fault, own, probes(own, own, **knobs),
                                    hold=holds.get(fault, 0.0)))
        done = await asyncio.gather(*jobs)
    finally:
        await asyncio.gather(*(asyncio.to_thread(s.stop) for s in servers))
    return [c for row in done for c in row]


__all__ = ["FAULTS", "HOLDS", "Cell", "Window", "cell", "grid", "inject", "matrix", "run_row",
           "table"]
