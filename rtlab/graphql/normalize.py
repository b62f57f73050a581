"""Writing: a result tree, walked with its plan, becomes flat entity records.

``normalize(plan, data, root_id)`` returns, for every entity the data holds, the
fields it brings (storage key → value, nested entities replaced by
:class:`~rtlab.graphql.keys.Ref`), the fields with a merge function still to be
merged with what the cache holds, and notes about what could not be normalized.
It reads nothing from the cache: applying the result (compare, merge, store) is
the cache's job, which is why the same function serves the base store and the
optimistic layers.

An object that cannot be given an id is kept inline under its parent, exactly
as received (under storage keys); a note says why, because inline objects are
not shared: another query showing the same post will not see it change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rtlab.graphql.documents import CacheError
from rtlab.graphql.keys import MISSING, Ref, compound_id
from rtlab.graphql.plan import (
    KEY_FIELDS,
    KEY_FN,
    KEY_ID,
    KEY_INLINE,
    KEY_NONE,
    Hook,
    Plan,
    Sel,
)


class WriteError(CacheError, ValueError):
    """The data does not fit the document (an object where a list was asked, a scalar
    where an object was asked); nothing was written."""


@dataclass
class Normalized:
    entities: dict[str, dict[str, Any]] = field(default_factory=dict)
    merges: dict[tuple[str, str], Hook] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _where(parent: Any, key: str) -> str:
    if not key:
        return str(parent)
    parts = [key]
    while isinstance(parent, tuple):
        parent, k = parent
        parts.append(k)
    parts.append(str(parent))
    return ".".join(reversed(parts))


class _Writer:
    __slots__ = ("out", "merges", "notes", "seen_notes")

    def __init__(self) -> None:
        self.out: dict[str, dict[str, Any]] = {}
        self.merges: dict[tuple[str, str], Hook] = {}
        self.notes: list[str] = []
        self.seen_notes: set[str] = set()

    def note(self, text: str) -> None:
        if text not in self.seen_notes:
            self.seen_notes.add(text)
            self.notes.append(text)

    def obj(self, sel: Sel, obj: Any, parent: Any, pkey: str, forced: str | None = None,
            hint: str | None = None) -> Any:
        if obj.__class__ is not dict:
            if not isinstance(obj, Mapping):
                raise WriteError(
                    f"{_where(parent, pkey)}: expected an object (the document selects fields "
                    f"of it), got {type(obj).__name__} {obj!r:.60}"
                )
            obj = dict(obj)
        tn = obj.get("__typename")
        if tn is None and hint is not None:
            tn = obj["__typename"] = hint  # obj is our own copy when a hint is given
        shape = sel.shapes.get(tn)
        if shape is None:
            shape = sel.shape(tn)
        eid = forced
        if eid is None:
            mode = shape.key_mode
            if mode == KEY_ID:
                value = obj.get("id")
                if value is not None:
                    eid = f"{tn}:{value}"
                else:
                    self._unkeyed(tn, ("id",), parent, pkey)
            elif mode == KEY_FIELDS:
                eid = compound_id(tn, {k: obj.get(r) for k, r in zip(shape.key_arg,
                                                                      shape.key_rkeys,
                                                                      strict=True)},
                                  shape.key_arg)
                if eid is None:
                    self._unkeyed(tn, shape.key_arg, parent, pkey)
            elif mode == KEY_FN:
                eid = shape.key_arg(obj)
            elif mode == KEY_NONE:
                self.note(
                    f"{_where(parent, pkey)}: an object without __typename cannot be "
                    f"normalized; stored inline under its parent. Send documents through "
                    f"add_typename and include __typename in data you write by hand"
                )
            elif mode != KEY_INLINE:  # pragma: no cover - KEY_ROOT is always forced
                raise AssertionError(mode)
        here: Any = eid if eid is not None else (parent, pkey)
        fields: dict[str, Any] | None = None
        if shape.fast:
            try:
                vals = shape.rget(obj)
            except KeyError:
                pass
            else:
                fields = dict(zip(shape.skeys, vals, strict=False))
                for i, rkey, skey, child in shape.objects:
                    v = vals[i]
                    if v is not None:
                        fields[skey] = (self.obj(child, v, here, rkey) if v.__class__ is dict
                                        else self.value(child, v, here, rkey))
        if fields is None:
            fields = self.slow(shape, obj, tn, eid, here)
        if eid is None:
            return fields
        prev = self.out.get(eid)
        if prev is None:
            self.out[eid] = fields
        else:
            prev.update(fields)
        return Ref(eid)

    def slow(self, shape: Any, obj: dict, tn: str | None, eid: str | None,
             here: Any) -> dict[str, Any]:
        """Field by field: absent fields noted, merge functions recorded."""
        fields: dict[str, Any] = {}
        for rkey, skey, child, hook in shape.fields:
            v = obj.get(rkey, MISSING)
            if v is MISSING:
                if not (rkey == "__typename" and tn is None):
                    self.note(f"{_where(here, rkey)}: missing from the data written; "
                              f"the cache keeps what it had")
                continue
            if child is not None and v is not None:
                if v.__class__ is dict:
                    v = self.obj(child, v, here, rkey)
                else:
                    v = self.value(child, v, here, rkey)
            if hook is not None and hook.merge is not None:
                if eid is not None:
                    self.merges[(eid, skey)] = hook
                else:
                    v = hook.merge(None, v, hook.args)
            fields[skey] = v
        return fields

    def value(self, sel: Sel, v: Any, parent: Any, pkey: str) -> Any:
        if v is None:
            return None
        if v.__class__ is list:
            obj = self.obj
            return [obj(sel, x, parent, pkey) if x.__class__ is dict else
                    self.value(sel, x, parent, pkey) for x in v]
        if isinstance(v, Mapping):
            return self.obj(sel, v, parent, pkey)
        raise WriteError(
            f"{_where(parent, pkey)}: expected an object or a list of objects (the document "
            f"selects fields of it), got {type(v).__name__} {v!r:.60}"
        )

    def _unkeyed(self, tn: str, keys: tuple[str, ...], parent: Any, pkey: str) -> None:
        self.note(
            f"{_where(parent, pkey)}: a {tn} without {', '.join(keys)} cannot be normalized "
            f"(key fields of {tn}: {list(keys)}); stored inline under its parent, so other "
            f"queries will not share it. Select {', '.join(keys)}, or set key_fields for {tn} "
            f"(False keeps it inline without this note)"
        )


def normalize(plan: Plan, data: Mapping[str, Any], root_id: str,
              typename: str | None = None) -> Normalized:
    """The entity records ``data`` brings, for ``plan``, with its root stored as ``root_id``.

    ``typename`` is the root's type when the data does not say (``Query`` for
    ``ROOT_QUERY``; a fragment's entity type): it is stored, so reads see it too.
    """
    if not isinstance(data, Mapping):
        raise WriteError(f"{root_id}: expected an object, got {type(data).__name__}")
    w = _Writer()
    if typename is not None and data.get("__typename") is None:
        data = dict(data)
        w.obj(plan.sel, data, root_id, "", forced=root_id, hint=typename)
        w.out.setdefault(root_id, {})["__typename"] = typename
    else:
        w.obj(plan.sel, data, root_id, "", forced=root_id)
    return Normalized(w.out, w.merges, w.notes)
