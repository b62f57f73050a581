"""The bad-input suite in ``make test``: a bounded seeded run against the real server process.

About a minute: ``RTLAB_FUZZ_INPUTS`` inputs (default 3,000) over every protocol, seed
``RTLAB_FUZZ_SEED`` (fixed by default, so ``make test`` is repeatable; ``make fuzz`` draws a
new seed and runs 12,000). A failure prints the table, the seed and every failing input.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from rtlab.lab import ServerProcess
from tests.fuzz.run import PROTOCOLS, RSS_GROWTH_MB, fuzz, shares

SEED = int(os.environ.get("RTLAB_FUZZ_SEED", "20261125"))
INPUTS = int(os.environ.get("RTLAB_FUZZ_INPUTS", "3000"))


@pytest.mark.timeout(600)
def test_every_bad_input_gets_a_clear_bounded_answer() -> None:
    server = ServerProcess.launch()
    try:
        report = asyncio.run(fuzz(server, INPUTS, SEED))
    finally:
        server.stop()
    details = "\n".join([report.table(), *map(str, report.failures),
                         f"reproduce: python -m tests.fuzz --seed {SEED} --inputs {INPUTS}"])
    assert set(report.tallies) == {p.name for p, _share in PROTOCOLS}, details
    assert report.inputs == sum(shares(INPUTS).values()), details
    for name, t in report.tallies.items():
        found = {"5xx": t.server_errors, "1011": t.internal_closes, "dropped": t.dropped,
                 "tracebacks": t.tracebacks}
        assert set(found.values()) == {0}, f"{name}: {found}\n{details}"
    assert report.unhealthy == [], details
    assert report.rss_growth_round2 <= RSS_GROWTH_MB, details
