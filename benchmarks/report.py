"""One row per benchmark, printed as a Markdown table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    name: str
    baseline: str  # what the baseline measured, with its unit and what it is
    rtlab: str  # what rtlab measured, same unit
    ratio: str  # the ratio (or figure) and its target, as text
    met: bool


def table(rows: Iterable[Row]) -> str:
    lines = ["| benchmark | baseline | rtlab | ratio | met |", "|---|---|---|---|---|"]
    for r in rows:
        met = "yes" if r.met else "NO"
        lines.append(f"| {r.name} | {r.baseline} | {r.rtlab} | {r.ratio} | {met} |")
    return "\n".join(lines)
