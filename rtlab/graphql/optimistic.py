"""Optimistic layers: changes a mutation expects, kept apart from what the server said.

A :class:`Layer` holds, per entity id, the fields it overrides (``DELETE`` marks a
field it removes) and whether it replaces the entity outright (an eviction, or an
entity that did not exist below it). Reads see the layers stacked on the base
store in order; the base store itself is never touched, so removing a layer is
exact: nothing to undo, only a layer to forget.

A layer also keeps the function that produced it. When a layer below it is
removed, the layers above are rebuilt by running their functions again on the
new view, because what they wrote may have been computed from the removed one
(a list that an update function prepended to, say).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rtlab.graphql.keys import DELETE


class Layer:
    """One optimistic change set, named by the caller (usually the mutation's id)."""

    __slots__ = ("id", "fn", "data")

    def __init__(self, layer_id: str, fn: Callable[[Any], Any]) -> None:
        self.id = layer_id
        self.fn = fn
        self.data: dict[str, tuple[bool, dict[str, Any]]] = {}  # eid -> (replace, overrides)

    def __repr__(self) -> str:
        return f"Layer({self.id!r}, {len(self.data)} entities)"


def layered_get(base: dict[str, dict[str, Any]], layers: list[Layer],
                eid: str) -> dict[str, Any] | None:
    """The fields of ``eid`` as the stack of ``layers`` over ``base`` shows them."""
    fields = base.get(eid)
    for layer in layers:
        change = layer.data.get(eid)
        if change is None:
            continue
        replace, overrides = change
        if replace:
            fields = None
        if overrides:
            merged = dict(fields) if fields is not None else {}
            for k, v in overrides.items():
                if v is DELETE:
                    merged.pop(k, None)
                else:
                    merged[k] = v
            fields = merged
    return fields


def layered_ids(base: dict[str, dict[str, Any]], layers: list[Layer]) -> list[str]:
    """Every entity id the stacked view holds, base order first."""
    ids = dict.fromkeys(base)
    for layer in layers:
        ids.update(dict.fromkeys(layer.data))
    return [eid for eid in ids if layered_get(base, layers, eid) is not None]
