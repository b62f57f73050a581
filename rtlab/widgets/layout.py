"""side_by_side: widgets next to each other, each keeping a readable width.

An ``HBox`` lets its widest child take the room and squeezes the others (a query
view beside a cache table ends up ~180 px wide, its titles wrapping mid-word).
Here each child gets a share of the row (``flex``), may shrink below its content
(``min_width: 0``, so a long line scrolls instead of pushing), and the row wraps
onto a second line when the notebook is narrower than ``min_width`` per child.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets


def side_by_side(*children: Any, shares: Sequence[float] | None = None,
                 min_width: str = "260px") -> widgets.HBox:
    """An ``HBox`` of ``children``, sharing the width as ``shares`` says (equal by default)."""
    shares = list(shares) if shares is not None else [1.0] * len(children)
    if len(shares) != len(children):
        raise ValueError(f"{len(children)} children but {len(shares)} shares")
    for child, share in zip(children, shares, strict=True):
        child.layout.flex = f"{share:g} 1 0%"
        child.layout.min_width = min_width
    box = widgets.HBox(
        list(children),
        layout=widgets.Layout(width="100%", flex_flow="row wrap", align_items="flex-start",
                              grid_gap="12px"),
    )
    box.add_class("rtlab-side-by-side")
    return box
