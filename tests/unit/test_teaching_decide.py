"""Needs to transports, from measured numbers: the rules, the verdicts, the text."""

from __future__ import annotations

import pytest

from rtlab.teaching.decide import NEEDS, RULES, Evidence, decide, report
from rtlab.teaching.results import Bytes, Cell, grid, table


def cell(fault: str, transport: str, *, recovered: bool = True, back: float | None = 0.2,
         noticed: float | None = 0.1, bound: float | None = 1.0, stopped: str = "",
         notes: tuple[str, ...] = ()) -> Cell:
    return Cell(transport, fault, recovered, back if recovered else None, noticed, 20, 0, 0,
                bound, stopped, notes)


EVIDENCE = Evidence(
    cells=(
        cell("proxy", "GraphQL", recovered=False, stopped="handshake refused: HTTP 403"),
        cell("proxy", "WebSocket", recovered=False, stopped="handshake refused: HTTP 403"),
        cell("proxy", "Socket.IO", noticed=None), cell("proxy", "SSE", noticed=None),
        cell("freeze", "GraphQL", noticed=0.5), cell("freeze", "WebSocket", noticed=0.5),
        cell("freeze", "Socket.IO", noticed=None), cell("freeze", "SSE", noticed=1.2),
        cell("drop", "SSE"), cell("kill", "GraphQL", notes=("7 published in the gap: x",)),
    ),
    round_trip_ms={"GraphQL": 5.0, "WebSocket": 0.2, "Socket.IO": 0.4},
    push={"GraphQL": Bytes("GraphQL", 25, 14, 0, 57),
          "WebSocket": Bytes("WebSocket", 25, 17, 0, 99),
          "Socket.IO": Bytes("Socket.IO", 25, 44, 0, 31), "SSE": Bytes("SSE", 25, 100, 0, 64)},
)


def fits(needs: set[str]) -> list[str]:
    return [v.transport for v in decide(needs, EVIDENCE) if v.ok]


def test_every_need_has_a_rule_and_a_label() -> None:
    assert {n.key for n in NEEDS} == set(RULES)


@pytest.mark.parametrize(("needs", "expected"), [
    (set(), ["GraphQL", "WebSocket", "Socket.IO", "SSE"]),
    ({"proxy"}, ["Socket.IO", "SSE"]),
    ({"upstream"}, ["WebSocket", "Socket.IO"]),
    ({"replay"}, ["SSE"]),
    ({"notice"}, ["GraphQL", "WebSocket"]),  # SSE noticed after 1.2 s: over the 1 s need
    ({"binary"}, ["WebSocket", "Socket.IO"]),
    ({"schema"}, ["GraphQL"]),
    ({"small"}, ["GraphQL", "WebSocket", "Socket.IO"]),
    ({"proxy", "upstream"}, ["Socket.IO"]),
    ({"proxy", "replay", "upstream"}, []),
])
def test_a_transport_fits_when_it_meets_every_need(needs: set[str],
                                                   expected: list[str]) -> None:
    assert fits(needs) == expected


def test_reasons_carry_the_measured_numbers_failed_ones_first() -> None:
    verdicts = {v.transport: v for v in decide(["proxy", "upstream"], EVIDENCE)}
    assert verdicts["Socket.IO"].reasons == (
        "through the proxy: delivering after 0.20 s", "sends on its socket: 0.40 ms a round trip")
    assert verdicts["WebSocket"].reasons[0] == "through the proxy: handshake refused: HTTP 403"
    assert "5.0 ms a round trip" in verdicts["GraphQL"].reasons[1]
    assert "7 events lost in gaps here" in decide(["replay"], EVIDENCE)[0].reasons[0]
    assert str(verdicts["Socket.IO"]).startswith("✓ Socket.IO: through the proxy")


def test_what_was_not_measured_is_not_met() -> None:
    bare = Evidence()
    assert [v.ok for v in decide(["proxy"], bare)] == [False] * 4
    assert [v.ok for v in decide(["small"], bare)] == [False] * 4
    assert decide(["proxy"], bare)[0].reasons == ("not measured through the proxy",)


def test_an_unknown_need_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown needs \\['teleport'\\]"):
        decide(["teleport"], EVIDENCE)


def test_the_report_lists_the_fitting_first() -> None:
    lines = report({"proxy"}, EVIDENCE).splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "✓ Socket.IO", "✓ SSE", "✗ GraphQL", "✗ WebSocket"]


def test_a_cell_says_one_word_that_does_not_change_from_run_to_run() -> None:
    assert cell("kill", "A").verdict() == "back"
    assert cell("freeze", "A", noticed=None).verdict() == "back, never noticed"
    assert cell("proxy", "A", noticed=None).verdict() == "back"  # nothing to notice there
    assert cell("reject", "A", recovered=False, stopped="503").verdict() == "stopped"
    assert cell("freeze", "A", recovered=False).verdict() == "not back"
    assert cell("kill", "A", back=1.5, bound=1.0).within_bound is False
    assert cell("kill", "A", back=0.5, bound=None).within_bound is None


def test_the_grid_is_the_verdicts_and_the_table_the_numbers() -> None:
    cells = [cell("kill", "A"), cell("kill", "B", recovered=False, stopped="HTTP 503"),
             cell("drop", "A", noticed=None)]
    width = len("back, never noticed") + 2  # the longest word, and two spaces
    assert grid(cells).splitlines() == [
        " " * 16 + "A".ljust(width) + "B",
        "kill + restart  " + "back".ljust(width) + "stopped",
        "drop            back, never noticed",
    ]
    text = table(cells)
    assert "kill + restart   B" in text and "HTTP 503" in text and "0.20 s" in text
