"""DecisionHelper: tick what an app needs, see which transports meet it and why (notebook 08).

The rules and the reasons are :func:`rtlab.teaching.decide.decide`'s; this view only holds
the toggles and shows its answer. Its text fallback is the same answer as plain text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets

from rtlab.teaching.decide import NEEDS, Evidence, decide, report

from .base import TextFallback
from .svg import esc


class DecisionHelper(TextFallback, widgets.VBox):
    """One checkbox per need (:data:`rtlab.teaching.decide.NEEDS`) and the verdicts."""

    def __init__(self, evidence: Evidence, needs: Iterable[str] = ()) -> None:
        self.evidence = evidence
        chosen = set(needs)
        self.toggles = {
            need.key: widgets.Checkbox(value=need.key in chosen, description=need.label,
                                       indent=False, layout=widgets.Layout(width="auto"))
            for need in NEEDS
        }
        for toggle in self.toggles.values():
            toggle.observe(self._changed, names="value")
        self.answer = widgets.HTML()
        self.answer.add_class("rtlab-decisionhelper-answer")
        super().__init__(children=[*self.toggles.values(), self.answer])
        self.add_class("rtlab-decisionhelper")
        self._render()

    @property
    def needs(self) -> list[str]:
        return [key for key, toggle in self.toggles.items() if toggle.value]

    def choose(self, *needs: str) -> None:
        """Tick exactly ``needs`` (what clicking does, for code and tests)."""
        for key, toggle in self.toggles.items():
            toggle.value = key in needs

    def _changed(self, _change: Any) -> None:
        self._render()

    def _render(self) -> None:
        rows = []
        for verdict in decide(self.needs, self.evidence):
            color = "#2e7d32" if verdict.ok else "#c62828"
            reasons = "<br>".join(esc(r) for r in verdict.reasons) or "no needs ticked"
            rows.append(
                f'<tr data-ok="{str(verdict.ok).lower()}"><td style="color:{color};'
                f'font-weight:bold;padding-right:1em">{"✓" if verdict.ok else "✗"} '
                f"{esc(verdict.transport)}</td><td>{reasons}</td></tr>")
        self.answer.value = ('<table style="font:12px system-ui,sans-serif">'
                             + "".join(rows) + "</table>")

    def text(self) -> str:
        ticked = ", ".join(self.needs) or "none"
        return f"needs: {ticked}\n" + report(self.needs, self.evidence)

    def close(self) -> None:
        for child in list(getattr(self, "children", ())):
            child.close()
        super().close()
