"""JSON in and out of every server, with bounds a hostile client cannot push past.

Decoding (:func:`loads`) refuses, with a :class:`JSONError` (a ``json.JSONDecodeError``, so
every library that catches that one catches it too):

- nesting deeper than :data:`MAX_DEPTH` arrays/objects. The standard decoder recurses once per
  level and raises ``RecursionError`` (not a ``ValueError``) about a thousand levels down, and
  a few hundred levels still blow the stack of whatever walks the value next (GraphQL
  variable coercion, ``repr``, ``json.dumps``). The depth is checked before decoding, at C
  speed: count the brackets, and only when there are more than the limit, strip the strings
  and track the running depth;
- ``NaN``, ``Infinity`` and ``-Infinity``, which Python accepts and RFC 8259 does not, and
  numbers such as ``1e999`` that Python would silently turn into infinity;
- integers longer than Python's conversion limit (``ValueError`` from ``int``);
- bytes that are not UTF-8/16/32 text.

Encoding (:func:`encode`) never fails on a lone surrogate (``"\\ud800"`` is valid JSON input and
decodes to one): the answer falls back to ``\\uXXXX`` escapes instead of a ``UnicodeEncodeError``
and a 500. :func:`dumps` and :func:`loads` keep the standard library's signatures, so this
module can be handed to python-socketio/engineio as their ``json``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any

MAX_DEPTH = 32

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # runs, not one char at a time
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JSONError(json.JSONDecodeError):
    """Input that is not JSON we accept; ``str()`` says why in one short sentence."""

    def __init__(self, message: str, doc: str = "", pos: int = 0) -> None:
        ValueError.__init__(self, message)
        self.msg, self.doc, self.pos = message, doc, pos
        self.lineno, self.colno = doc.count("\n", 0, pos) + 1, pos - doc.rfind("\n", 0, pos)

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__class__, (self.msg, self.doc, self.pos)


def depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (brackets inside strings not counted)."""
    brackets = _NOT_BRACKETS.sub("", _STRING.sub("", text))
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _refuse_constant(name: str) -> Any:
    raise JSONError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise JSONError(f"{text[:20]} is out of range for a number")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def _text(data: str | bytes | bytearray) -> str:
    if isinstance(data, str):
        return data
    try:
        return bytes(data).decode(json.detect_encoding(data))
    except UnicodeDecodeError as exc:
        raise JSONError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def loads(data: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """``json.loads`` with the bounds above; raises :class:`JSONError` for every bad input."""
    text = _text(data)
    if text.count("[") + text.count("{") > max_depth and depth(text) > max_depth:
        raise JSONError(f"JSON nested deeper than {max_depth} levels")
    decoder = _DECODER if not kwargs else json.JSONDecoder(
        **{"parse_constant": _refuse_constant, "parse_float": _finite_float, **kwargs})
    try:
        return decoder.decode(text)
    except JSONError:
        raise
    except json.JSONDecodeError as exc:
        raise JSONError(f"invalid JSON: {exc}", exc.doc, exc.pos) from None
    except RecursionError:  # unreachable with a sane max_depth; kept as the last guard
        raise JSONError(f"JSON nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # e.g. an integer beyond int's digit limit
        raise JSONError(f"invalid JSON: {exc}") from None


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` (the standard library's own; here so this module is a drop-in)."""
    return json.dumps(value, **kwargs)


def encode(value: Any) -> bytes:
    """Compact UTF-8 JSON; lone surrogates come out as ``\\uXXXX`` escapes, never an error."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")
