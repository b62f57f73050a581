"""CacheView: the normalized cache as a table, one row per entity, changed rows marked.

Seeing ``User:1`` stored once, referenced from ``ROOT_QUERY.user({"id":"1"})`` and
from every post's ``author``, is what makes normalization click; seeing its row
light up when a mutation in another cell changes it is what makes "two views in
step" click. The view listens to the cache's ``on_change`` (it never writes to the
cache) and redraws at most about ten times a second.

Rows changed by the latest change are marked ``*`` (and highlighted); each row counts
its changes; a row that exists only in an optimistic layer, or differs there from
the base store, is tagged ``optimistic``. ``order="recent"`` puts the most recently
changed rows first, so a bounded view shows what just happened (an optimistic
``Post:temp-1``, then the post that replaced it) rather than the oldest entities.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from .base import TimelineHTML
from .messages import short
from .svg import esc


def _value(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"__ref"}:
        return f"→{value['__ref']}"
    if isinstance(value, list) and value and all(
        isinstance(v, dict) and set(v) == {"__ref"} for v in value
    ):
        refs = [v["__ref"] for v in value]
        shown = ", ".join(refs[:3]) + (f", … ({len(refs)})" if len(refs) > 3 else "")
        return f"→[{shown}]"
    return short(value, 60)


def _fields(fields: dict[str, Any], skip_typename: bool = True) -> str:
    parts = [f"{k}: {_value(v)}" for k, v in fields.items()
             if not (skip_typename and k == "__typename")]
    return "  ".join(parts)


class CacheView(TimelineHTML):
    """The entities of ``cache`` (a :class:`rtlab.graphql.cache.NormalizedCache`).

    ``types`` limits the rows to some ``__typename`` values (roots always shown unless
    ``roots=False``); ``max_rows`` bounds the table (the header says how many are hidden);
    ``order`` is ``"type"`` (by type, then id) or ``"recent"`` (last changed first).
    """

    css_class = "rtlab-cacheview"

    def __init__(self, cache: Any, *, types: Iterable[str] | None = None, roots: bool = True,
                 max_rows: int = 40, title: str = "cache", order: str = "type",
                 min_interval: float = 0.1) -> None:
        if order not in ("type", "recent"):
            raise ValueError(f"order must be 'type' or 'recent', not {order!r}")
        super().__init__(None, (), min_interval=min_interval)
        self.cache = cache
        self.types = frozenset(types) if types is not None else None
        self.roots = roots
        self.max_rows = max_rows
        self.title = title
        self.order = order
        self.changes = 0  # change sets seen
        self.last_changed: frozenset[str] = frozenset()
        self.change_counts: Counter[str] = Counter()
        self._changed_at: dict[str, int] = {}  # id -> the change set that last touched it
        self._stop = cache.on_change(self._listener_ids)
        self._start()

    def _listener_ids(self, ids: frozenset[str]) -> None:
        self._redraw.push(ids)

    def _apply(self, item: Any) -> None:
        ids = frozenset(item)
        self.changes += 1
        self.last_changed = ids
        self.change_counts.update(ids)
        for eid in ids:
            self._changed_at[eid] = self.changes

    def rows(self) -> list[tuple[str, dict[str, Any], bool, bool]]:
        """``(id, fields, changed last, optimistic)`` per entity shown, roots first."""
        ids = self.cache.ids()
        roots = [i for i in ids if i.startswith("ROOT_")]
        others = sorted((i for i in ids if not i.startswith("ROOT_")), key=_sort_key)
        if self.order == "recent":  # stable: unchanged rows keep the type order, last
            others.sort(key=lambda i: -self._changed_at.get(i, 0))
        out = []
        for eid in (roots if self.roots else []) + others:
            fields = self.cache.get(eid) or {}
            if self.types is not None and not eid.startswith("ROOT_") \
                    and fields.get("__typename") not in self.types:
                continue
            optimistic = bool(self.cache.optimistic_layers) and (
                self.cache.get(eid, optimistic=False) != fields
            )
            out.append((eid, fields, eid in self.last_changed, optimistic))
        return out

    def _html(self) -> str:
        rows = self.rows()
        shown = rows[: self.max_rows]
        body = []
        for eid, fields, changed, optimistic in shown:
            bg = "#fff6cc" if changed else ("#eef4ff" if optimistic else "transparent")
            tags = []
            if optimistic:
                tags.append('<span style="color:#2e6da4;font-size:11px">optimistic</span>')
            if self.change_counts.get(eid):
                tags.append(f'<span style="color:#999;font-size:11px">'
                            f'{self.change_counts[eid]}× changed</span>')
            body.append(
                f'<tr class="rtlab-cache-row" data-id="{esc(eid)}" '
                f'data-changed="{str(changed).lower()}" data-optimistic="{str(optimistic).lower()}"'
                f' style="background:{bg};border-bottom:1px solid #eee">'
                f'<td style="padding:1px 6px;white-space:nowrap;font-weight:600;'
                f'vertical-align:top">'
                f'{"* " if changed else ""}{esc(eid)}</td>'
                f'<td style="padding:1px 6px;overflow-wrap:anywhere">{esc(_fields(fields))}</td>'
                f'<td style="padding:1px 6px;white-space:nowrap">{" ".join(tags)}</td></tr>'
            )
        head = f"{esc(self.title)}: {len(rows)} entities"
        if len(rows) > len(shown):
            head += f", showing {len(shown)}"
        layers = self.cache.optimistic_layers
        if layers:
            head += f" · optimistic layers: {esc(', '.join(layers))}"
        return (
            f'<div class="rtlab-cacheview-body" data-count="{len(rows)}" '
            f'style="font:12px/1.4 ui-monospace,monospace">'
            f'<div style="font:600 12px system-ui,sans-serif;margin-bottom:2px">{head}</div>'
            f'<div style="max-height:20em;overflow-y:auto;border:1px solid #ddd;'
            f'border-radius:4px"><table style="border-collapse:collapse;width:100%;font:inherit">'
            f"{''.join(body)}</table></div></div>"
        )

    def text(self, limit: int | None = None) -> str:
        rows = self.rows()
        limit = self.max_rows if limit is None else limit
        lines = [f"{self.title}: {len(rows)} entities"]
        for eid, fields, changed, optimistic in rows[:limit]:
            mark = "*" if changed else " "
            tag = " (optimistic)" if optimistic else ""
            lines.append(f"{mark} {eid}{tag}  {_fields(fields)}"[:200])
        if len(rows) > limit:
            lines.append(f"  ... {len(rows) - limit} more")
        return "\n".join(lines)

    def detach(self) -> None:
        stop, self._stop = getattr(self, "_stop", None), None
        if stop is not None:
            stop()
        super().detach()

    @property
    def following(self) -> bool:
        return getattr(self, "_stop", None) is not None


def _sort_key(eid: str) -> tuple[str, int, str]:
    typename, _, rest = eid.partition(":")
    try:
        return typename, int(rest), ""
    except ValueError:
        return typename, 1 << 62, rest


__all__ = ["CacheView"]
