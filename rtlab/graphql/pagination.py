"""Field policies for paginated lists: pages merged into one stored list.

With ``key_args=()`` every ``posts(limit:, offset:)`` is stored under one key,
``posts``, and the ``merge`` function puts each incoming page where its
arguments say. This is what the chapter's ``fetchMore`` + ``updateQuery`` tries
to do by hand (and cannot, since its query never declares ``$offset``).

    cache = NormalizedCache(type_policies={"User": {"fields": {"posts": offset_limit()}}})
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def offset_limit(key_args: Iterable[str] = ()) -> dict[str, Any]:
    """Offset pagination: page ``offset=k`` lands at index ``k``; re-fetching a page replaces it.

    ``key_args`` names arguments that still separate lists (a filter, say).
    """

    def merge(existing: list | None, incoming: list | None, args: Mapping[str, Any]) -> list:
        merged = list(existing) if existing else []
        if incoming is None:
            return merged
        offset = int(args.get("offset") or 0)
        if offset > len(merged):
            merged.extend([None] * (offset - len(merged)))
        merged[offset:offset + len(incoming)] = incoming
        return merged

    return {"key_args": list(key_args), "merge": merge}


def append(key_args: Iterable[str] = ()) -> dict[str, Any]:
    """Cursor-style pagination: each incoming page goes after what is stored,
    skipping references already there (a re-delivered page adds nothing)."""

    def merge(existing: list | None, incoming: list | None, args: Mapping[str, Any]) -> list:
        merged = list(existing) if existing else []
        seen = set(x for x in merged if isinstance(x, str))
        for item in incoming or ():
            if isinstance(item, str) and item in seen:
                continue
            merged.append(item)
        return merged

    return {"key_args": list(key_args), "merge": merge}
