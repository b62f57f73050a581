"""Numbers from query strings, read strictly: plain ASCII decimal, finite, in range.

``float()`` and ``int()`` are generous in ways a query parameter must not be: they take
``nan``, ``inf``, ``1e309`` (infinity), ``" 1"``, ``"1_0"`` and any script's digits (``"٣"`` is 3),
and every comparison with ``nan`` is false, so ``not 0 <= nan <= 30`` lets it through a range
check. :func:`number` accepts ``-?digits[.digits][e±digits]`` (or digits alone for an integer)
and raises :class:`BadParam`, whose message names the parameter and what it must be.
"""

from __future__ import annotations

import math
import re

_INTEGER = re.compile(r"-?[0-9]{1,18}")
_DECIMAL = re.compile(r"-?(?:[0-9]{1,18}(?:\.[0-9]{0,18})?|\.[0-9]{1,18})(?:[eE][-+]?[0-9]{1,3})?")
SHOWN = 40


class BadParam(ValueError):
    """A query parameter that is not a number in its range; the message says which."""


def number(name: str, raw: str, low: float, high: float, *, integer: bool = False,
           zero_ok: bool = False) -> float:
    """``raw`` as a number from ``low`` to ``high`` (or exactly 0 when ``zero_ok``)."""
    kind = "an integer" if integer else "a number"
    shown = raw if len(raw) <= SHOWN else raw[: SHOWN - 1] + "…"
    if not (_INTEGER if integer else _DECIMAL).fullmatch(raw):
        raise BadParam(f"{name} must be {kind}, got {shown!r}")
    value = int(raw) if integer else float(raw)
    if not math.isfinite(value):
        raise BadParam(f"{name} must be a finite number, got {shown!r}")
    if zero_ok and value == 0:
        return 0.0
    if not low <= value <= high:
        raise BadParam(f"{name} must be {kind} from {low:g} to {high:g}"
                       + (" (or 0)" if zero_ok else "") + f", got {value:g}")
    return value
