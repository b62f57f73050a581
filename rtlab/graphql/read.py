"""Reading: entity records, walked with a plan, become a result tree — memoized per entity.

Each ``(selection, entity id)`` read is remembered as an *entry*
``[result, missing, parents]``: the result dict, the paths the cache could not
fill (None when complete), and the set of ``(selection, entity id)`` entries
that used it. Unchanged entities are never rebuilt: a repeat read of a whole
query is one dictionary lookup, and after one author changes only that author's
entry and the entries above it (its posts, the list holding them, the root) are
rebuilt; the other 999 posts are reused as they are.

The cache keeps entries honest: when a write changes fields of an entity, every
entry of that entity whose selection reads one of those fields is dropped, and
so, transitively, are its parents (:func:`invalidate`). A reference to an entity
the cache does not hold (dangling) reads as missing and leaves a note in
``pending``, so the entry is dropped when that entity appears.

Results are shared between reads and between parents: treat them as read-only
(copy before changing one), as Apollo Client does by freezing them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rtlab.graphql.keys import MISSING, Ref
from rtlab.graphql.plan import Sel

Entry = list  # [result: dict, missing: tuple[str, ...] | None, parents: set[tuple[Sel, str]]]
Memos = dict[Sel, dict[str, Entry]]
Getter = Callable[[str], "dict[str, Any] | None"]


class Reader:
    """Builds results through ``get`` (the base store, or the optimistic view) into ``memos``."""

    __slots__ = ("get", "memos", "pending")

    def __init__(self, get: Getter, memos: Memos, pending: dict[str, set]) -> None:
        self.get = get
        self.memos = memos
        self.pending = pending

    def root(self, sel: Sel, eid: str, typename: str | None = None) -> Entry | None:
        """The entry of ``eid`` read with ``sel``, or None when the cache has no such entity.

        A root (``typename`` given) always exists: absent, it reads as an empty
        ``typename`` object, so field read functions still run.
        """
        memo = self.memos.get(sel)
        if memo is None:
            memo = self.memos[sel] = {}
        entry = memo.get(eid)
        if entry is None:
            fields = self.get(eid)
            if fields is None:
                if typename is None:
                    return None
                fields = {"__typename": typename}
            result, missing = self.fill(sel, fields, (sel, eid))
            entry = memo[eid] = [result, missing, set()]
        return entry

    def fill(self, sel: Sel, fields: dict[str, Any], owner: tuple) -> tuple[dict, tuple | None]:
        shape = sel.shapes.get(fields.get("__typename"))
        if shape is None:
            shape = sel.shape(fields.get("__typename"))
        if shape.fast:
            try:
                vals = shape.sget(fields)
            except KeyError:
                pass
            else:
                return self._fast(shape, vals, owner)
        return self._slow(shape, fields, owner)

    def _fast(self, shape: Any, vals: tuple, owner: tuple) -> tuple[dict, tuple | None]:
        """Every field present, no hooks: all values at once, then the object fields."""
        result = dict(zip(shape.rkeys, vals, strict=False))
        missing: list[str] | None = None
        memos = self.memos
        for i, rkey, _skey, child in shape.objects:
            v = vals[i]
            if v is None:
                continue
            cls = v.__class__
            if cls is Ref:
                memo = memos.get(child)
                if memo is None:
                    memo = memos[child] = {}
                e = memo.get(v)
                if e is None:
                    e = self._build(child, v, memo, owner)
                    if e is None:
                        del result[rkey]
                        if missing is None:
                            missing = []
                        missing.append(rkey)
                        continue
                else:
                    e[2].add(owner)
                result[rkey] = e[0]
                sub = e[1]
            elif cls is list:
                result[rkey], sub = self._list(child, v, owner)
            else:
                result[rkey], sub = self.fill(child, v, owner)
            if sub:
                if missing is None:
                    missing = []
                missing.extend(f"{rkey}{m}" if m[:1] == "[" else f"{rkey}.{m}" for m in sub)
        return result, (tuple(missing) if missing else None)

    def _slow(self, shape: Any, fields: dict[str, Any], owner: tuple) -> tuple[dict, tuple | None]:
        """Field by field: absent fields recorded as missing, read functions applied."""
        result: dict[str, Any] = {}
        missing: list[str] | None = None
        for rkey, skey, child, hook in shape.fields:
            v = fields.get(skey, MISSING)
            if hook is not None and hook.read is not None:
                v = hook.read(v, hook.args)
            if v is MISSING:
                if missing is None:
                    missing = []
                missing.append(rkey)
                continue
            if child is None or v is None:
                result[rkey] = v
                continue
            cls = v.__class__
            if cls is Ref:
                memo = self.memos.get(child)
                if memo is None:
                    memo = self.memos[child] = {}
                e = memo.get(v)
                if e is None:
                    e = self._build(child, v, memo, owner)
                    if e is None:
                        if missing is None:
                            missing = []
                        missing.append(rkey)
                        continue
                else:
                    e[2].add(owner)
                result[rkey] = e[0]
                sub = e[1]
            elif cls is list:
                result[rkey], sub = self._list(child, v, owner)
            else:
                result[rkey], sub = self.fill(child, v, owner)
            if sub:
                if missing is None:
                    missing = []
                missing.extend(f"{rkey}{m}" if m[:1] == "[" else f"{rkey}.{m}" for m in sub)
        return result, (tuple(missing) if missing else None)

    def _build(self, sel: Sel, eid: str, memo: dict[str, Entry], owner: tuple) -> Entry | None:
        fields = self.get(eid)
        if fields is None:
            found = self.pending.get(eid)
            if found is None:
                self.pending[eid] = {owner}
            else:
                found.add(owner)
            return None
        result, missing = self.fill(sel, fields, (sel, eid))
        entry = memo[eid] = [result, missing, {owner}]
        return entry

    def _list(self, sel: Sel, items: list, owner: tuple) -> tuple[list, tuple | None]:
        memo = self.memos.get(sel)
        if memo is None:
            memo = self.memos[sel] = {}
        out: list[Any] = []
        append = out.append
        missing: list[str] | None = None
        for i, v in enumerate(items):
            if v.__class__ is Ref:
                e = memo.get(v)
                if e is None:
                    e = self._build(sel, v, memo, owner)
                    if e is None:
                        if missing is None:
                            missing = []
                        missing.append(f"[{i}]")
                        continue
                else:
                    e[2].add(owner)
                append(e[0])
                sub = e[1]
            elif v is None:
                append(None)
                continue
            elif v.__class__ is list:
                r, sub = self._list(sel, v, owner)
                append(r)
            else:
                r, sub = self.fill(sel, v, owner)
                append(r)
            if sub:
                if missing is None:
                    missing = []
                missing.extend(f"[{i}]{m}" if m[:1] == "[" else f"[{i}].{m}" for m in sub)
        return out, (tuple(missing) if missing else None)


def invalidate(memos: Memos, sel: Sel, eid: str) -> None:
    """Drop the entry of ``(sel, eid)`` and every entry that was built from it."""
    stack = [(sel, eid)]
    while stack:
        s, e = stack.pop()
        memo = memos.get(s)
        if memo is None:
            continue
        entry = memo.pop(e, None)
        if entry is not None and entry[2]:
            stack.extend(entry[2])
