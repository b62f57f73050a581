"""Values that may be given as functions: headers, tokens, init payloads, hooks.

A client that takes ``headers={"Authorization": ...}`` holds one token forever; one
that takes ``headers=tokens.headers`` asks again before every attempt. Both forms,
and async functions too, are read through :func:`resolve`.
"""

from __future__ import annotations

import inspect
from typing import Any


async def settle(value: Any) -> Any:
    """``value``, awaited first if it is awaitable (what a sync-or-async callback returned)."""
    return await value if inspect.isawaitable(value) else value


async def resolve(source: Any) -> Any:
    """``source()`` (awaited if it is a coroutine) when ``source`` is callable, else ``source``."""
    return await settle(source() if callable(source) else source)
