"""The driver's side of the load generator: several ``python -m benchmarks.loadgen`` processes,
each holding a share of the clients, spoken to over their stdin/stdout."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

from benchmarks.loadgen import procstat
from benchmarks.loadgen.samples import Summary, summarize

#: a generator answers every command within this (an ``open`` of a thousand clients included)
ANSWER_TIMEOUT = 120.0


class GeneratorProcess:
    def __init__(self, kind: str, proc: asyncio.subprocess.Process) -> None:
        self.kind = kind
        self.proc = proc
        self.clients = 0

    @classmethod
    async def start(cls, kind: str, url: str, extra: Sequence[str] = ()) -> GeneratorProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.loadgen", "--kind", kind, "--url", url, *extra,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=64 << 20)
        return cls(kind, proc)

    async def ask(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps({"op": op, **fields}) + "\n").encode())
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), ANSWER_TIMEOUT)
        if not line:
            raise RuntimeError(f"load generator ({self.kind}) exited (code {self.proc.returncode})")
        return json.loads(line)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(b'{"op": "exit"}\n')
                await self.proc.stdin.drain()
                await asyncio.wait_for(self.proc.wait(), 10)
            except (Exception, asyncio.CancelledError):
                self.proc.kill()
                await self.proc.wait()


class Pool:
    """Generators by kind; ``grow`` spreads new clients over the generators of a kind."""

    def __init__(self, generators: list[GeneratorProcess]) -> None:
        self.generators = generators

    @classmethod
    async def start(cls, url: str, kinds: dict[str, int],
                    extra: Sequence[str] = ()) -> Pool:
        """``kinds``: how many processes of each kind, e.g. ``{"ws": 3, "polling": 1}``."""
        gens = [await GeneratorProcess.start(kind, url, extra)
                for kind, n in kinds.items() for _ in range(n)]
        return cls(gens)

    def clients(self, kind: str | None = None) -> int:
        return sum(g.clients for g in self.generators if kind in (None, g.kind))

    async def grow(self, kind: str, to: int) -> list[str]:
        """Open clients of ``kind`` until there are ``to``; returns the failures' reasons."""
        gens = [g for g in self.generators if g.kind == kind]
        missing = to - self.clients(kind)
        if missing <= 0 or not gens:
            return []
        shares = [missing // len(gens) + (1 if i < missing % len(gens) else 0)
                  for i in range(len(gens))]
        answers = await asyncio.gather(*(g.ask("open", n=share)
                                         for g, share in zip(gens, shares, strict=True)
                                         if share))
        errors = []
        for g, answer in zip([g for g, s in zip(gens, shares, strict=True) if s], answers,
                             strict=True):
            g.clients = answer["clients"]
            if answer.get("error"):
                errors.append(f"{answer['failed']} failed, e.g. {answer['error']}")
        return errors

    async def reset(self, since: float) -> None:
        await asyncio.gather(*(g.ask("reset", since=since) for g in self.generators))

    async def summary(self, until: float, expected_ks: Sequence[int] | None
                      ) -> tuple[Summary, dict[str, Summary]]:
        """The whole class, and each kind of client apart (same window, same rule)."""
        reports = await asyncio.gather(*(g.ask("report", until=until)
                                         for g in self.generators))
        kinds = {g.kind for g in self.generators}
        by_kind = {kind: summarize([r for g, r in zip(self.generators, reports, strict=True)
                                    if g.kind == kind], self.clients(kind), expected_ks)
                   for kind in sorted(kinds)} if len(kinds) > 1 else {}
        return summarize(reports, self.clients(), expected_ks), by_kind

    def cpu_seconds(self) -> list[float]:
        """CPU time so far of each generator process, in :attr:`generators` order."""
        return [procstat.cpu_seconds(g.proc.pid) for g in self.generators]

    def busiest(self, before: list[float], after: list[float], seconds: float
                ) -> dict[str, float]:
        """Per kind, the busiest generator's share of a core between two :meth:`cpu_seconds`
        readings ``seconds`` apart: near 1.0, that generator measures itself."""
        out: dict[str, float] = {}
        for g, b, a in zip(self.generators, before, after, strict=True):
            out[g.kind] = max(out.get(g.kind, 0.0), (a - b) / seconds)
        return out

    async def close_clients(self) -> None:
        await asyncio.gather(*(g.ask("close") for g in self.generators))
        for g in self.generators:
            g.clients = 0

    async def stop(self) -> None:
        await asyncio.gather(*(g.stop() for g in self.generators))
