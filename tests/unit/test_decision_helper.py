"""DecisionHelper: ticking a need changes the verdicts it shows, and its text says the same."""

from __future__ import annotations

from rtlab.teaching.decide import NEEDS, Evidence, report
from rtlab.teaching.results import Cell
from rtlab.widgets import DecisionHelper


def evidence() -> Evidence:
    def cell(transport: str, recovered: bool) -> Cell:
        return Cell(transport, "proxy", recovered, 0.1 if recovered else None, None, 9, 0, 0,
                    3.0, "" if recovered else "HTTP 403")

    return Evidence(tuple(cell(t, t in ("Socket.IO", "SSE"))
                          for t in ("GraphQL", "WebSocket", "Socket.IO", "SSE")))


def test_ticking_a_need_redraws_the_verdicts() -> None:
    helper = DecisionHelper(evidence())
    assert len(helper.toggles) == len(NEEDS) and helper.needs == []
    assert helper.answer.value.count('data-ok="true"') == 4  # no needs: every one fits
    helper.toggles["proxy"].value = True  # what a click does
    assert helper.needs == ["proxy"]
    assert helper.answer.value.count('data-ok="true"') == 2
    assert "HTTP 403" in helper.answer.value
    helper.choose("proxy", "schema")
    assert helper.answer.value.count('data-ok="true"') == 0
    helper.close()


def test_its_text_is_the_report_and_its_class_finds_it() -> None:
    helper = DecisionHelper(evidence(), needs=["proxy"])
    assert "rtlab-decisionhelper" in helper._dom_classes
    assert helper.text() == "needs: proxy\n" + report(["proxy"], helper.evidence)
    assert helper._repr_mimebundle_()["text/plain"] == helper.text()
    helper.close()
