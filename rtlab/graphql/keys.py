"""How the normalized cache names things: entity ids, references and field storage keys.

* An **entity id** is ``"<__typename>:<id>"`` by default (``"User:1"``), as in
  Apollo Client and the chapter's ``dataIdFromObject``. A type may name other key
  fields (``Message: ["roomId", "id"]`` gives ``'Message:{"roomId":"general","id":"7"}'``),
  a function, or ``False`` for "never normalize, keep it inline under its parent".
* A **reference** is a :class:`Ref`: a ``str`` subclass holding an entity id, so a
  list of references compares and hashes at C speed and a stored field can tell a
  reference from a scalar string without a schema.
* A **storage key** is the field name, plus its arguments as JSON with sorted keys
  when it has any: ``posts({"limit":10,"offset":0})``. Aliases never reach a
  storage key: two queries asking ``posts(limit: 10)`` under different aliases share
  one stored value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

ROOT_QUERY = "ROOT_QUERY"
ROOT_MUTATION = "ROOT_MUTATION"
ROOT_SUBSCRIPTION = "ROOT_SUBSCRIPTION"
ROOTS = (ROOT_QUERY, ROOT_MUTATION, ROOT_SUBSCRIPTION)

KeyFields = list[str] | tuple[str, ...] | bool | Callable[[Mapping[str, Any]], "str | None"]


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MISSING: Any = _Sentinel("MISSING")  # a field the cache does not hold (not the same as null)
DELETE: Any = _Sentinel("DELETE")  # returned by a ``modify`` function: remove the field


class Ref(str):
    """A reference to a normalized entity, stored where the object was."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Ref({str.__repr__(self)})"


def stable_json(value: Any) -> str:
    """Compact JSON with sorted keys: the same arguments always give the same key."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def storage_key(field_name: str, args: Mapping[str, Any] | None) -> str:
    """``posts`` or ``posts({"limit":10,"offset":0})``."""
    return f"{field_name}({stable_json(dict(args))})" if args else field_name


def field_name_of(key: str) -> str:
    """The field name of a storage key: ``posts({"limit":10})`` → ``posts``."""
    paren = key.find("(")
    return key if paren < 0 else key[:paren]


def compound_id(typename: str, obj: Mapping[str, Any], fields: tuple[str, ...]) -> str | None:
    """The id of ``obj`` from several key fields, in the order given; None if one is absent."""
    if fields == ("id",):
        value = obj.get("id")
        return None if value is None else f"{typename}:{value}"
    values = {}
    for name in fields:
        value = obj.get(name)
        if value is None:
            return None
        values[name] = value
    return f"{typename}:{json.dumps(values, separators=(',', ':'), ensure_ascii=False)}"


def to_json(value: Any) -> Any:
    """A stored value as plain JSON: references become ``{"__ref": id}``."""
    if value.__class__ is Ref:
        return {"__ref": str(value)}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def from_json(value: Any) -> Any:
    """The inverse of :func:`to_json`."""
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("__ref"), str):
            return Ref(value["__ref"])
        return {k: from_json(v) for k, v in value.items()}
    return value


def refs_in(value: Any) -> list[Ref]:
    """Every reference held in a stored value (inline objects and nested lists included)."""
    found: list[Ref] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if v.__class__ is Ref:
            found.append(v)
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
    return found
