"""Seeded generators of hostile values: JSON text (valid, deep, huge, wrong, broken), strings,
bytes and byte-level mutations. Everything comes from one ``random.Random``, so a seed and an
index reproduce an input exactly.

JSON is generated as *text*, not through ``json.dumps``, so it can hold what a careless or
hostile client sends and ``json.dumps`` never writes: lone surrogate escapes, ``NaN``,
``1e999``, integers of thousands of digits, duplicate keys, nesting far beyond any limit,
truncations and trailing garbage.
"""

from __future__ import annotations

import json
import random
import string
from typing import Any


class Raw(str):
    """JSON text to embed as is in :meth:`Gen.dumps` (a value generated as text)."""


SURROGATES = ("\\ud800", "\\udfff", "\\udbff\\udc00", "\\udc00\\ud800", "\\ud83d")
ODD_NUMBERS = ("NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e-999", "-0", "0.0",
               "1E400", "9" * 5000, "-" + "9" * 400, "123456789012345678901234567890", "01",
               "1.", ".5", "+1", "0x10", "1_000")
UNICODE = ("é", "ß", "€", "😀", "\u202e", "\u0000", "\u200b", "中文", "\ufeff", "\x7f", "🏳️‍🌈",
           "\u0301", "Ω", "\U0001f600" * 3, "ǅ", "\ud7ff", "\ue000", "\uffff")
WORDS = ("type", "id", "payload", "query", "variables", "data", "__proto__", "constructor",
         "connect", "disconnect", "*", "ping", "pong", "start", "stop", "complete", "subscribe",
         "next", "error", "message", "join", "room", "", " ", "null", "true", "0", "-1")


class Gen:
    """Hostile values from one seeded ``random.Random``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    # -- small pieces ---------------------------------------------------------------------
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, options: Any) -> Any:
        return self.rng.choice(options)

    def size(self) -> int:
        """Mostly small, sometimes large, rarely huge (past every size limit)."""
        r = self.rng.random()
        if r < 0.01:
            return 300_000
        if r < 0.03:
            return 65_537
        if r < 0.10:
            return self.pick((1024, 4096, 9000))
        return self.pick((0, 1, 2, 3, 5, 8, 17, 64, 255))

    def text(self, max_len: int | None = None) -> str:
        """A Python string: ASCII, unicode, control characters, words, long runs."""
        kind = self.rng.randrange(7)
        if kind == 0:
            return self.pick(WORDS)
        if kind == 1:
            return "".join(self.pick(UNICODE) for _ in range(self.rng.randrange(1, 6)))
        if kind == 2:
            n = min(self.size(), max_len or 300_000)
            return self.pick(string.ascii_letters) * n
        if kind == 3:
            return "".join(chr(self.rng.randrange(0, 0x3000)) for _ in range(self.rng.randrange(9)))
        if kind == 4:
            return "".join(self.pick(string.printable) for _ in range(self.rng.randrange(1, 40)))
        if kind == 5:
            return self.pick(("{", "}", "[", "]", '"', "\\", "\n", "\r\n", "%00", "%FF", "../",
                              "' OR 1=1 --", "${jndi:x}", "<script>", "\t"))
        return str(self.rng.randrange(-10**6, 10**6))

    def string(self) -> Raw:
        """A JSON string literal, possibly holding lone surrogates or raw control bytes."""
        body = json.dumps(self.text())[1:-1]
        if self.chance(0.25):
            at = self.rng.randrange(len(body) + 1)
            body = body[:at] + self.pick(SURROGATES) + body[at:]
        return Raw(f'"{body}"')

    def number(self) -> Raw:
        if self.chance(0.4):
            return Raw(self.pick(ODD_NUMBERS))
        return Raw(self.pick((str(self.rng.randrange(-1000, 1000)), str(self.rng.random()),
                              str(2**63), str(-(2**53) - 1), "1e308", "3.14", "0")))

    # -- JSON values ------------------------------------------------------------------------
    def value(self, depth: int = 0) -> Raw:
        """Any JSON value as text; containers nest a few levels, rarely very deep."""
        if self.chance(0.08 if depth == 0 else 0.01):
            return self.deep()
        kind = self.rng.randrange(9 if depth < 4 else 6)
        if kind == 0:
            return Raw("null")
        if kind == 1:
            return Raw(self.pick(("true", "false")))
        if kind in (2, 3):
            return self.number()
        if kind in (4, 5):
            return self.string()
        if kind in (6, 7):
            width = self._width(depth)
            return Raw("[" + ",".join(self.value(depth + 1) for _ in range(width)) + "]")
        return self.obj(depth)

    def obj(self, depth: int = 0, keys: tuple[str, ...] = WORDS) -> Raw:
        items = []
        for _ in range(self._width(depth)):
            key = self.pick(keys) if self.chance(0.7) else self.text(64)
            items.append(f"{json.dumps(key)}:{self.value(depth + 1)}")
        if items and self.chance(0.1):
            items.append(items[0])  # a duplicate key
        return Raw("{" + ",".join(items) + "}")

    def deep(self) -> Raw:
        """Arrays/objects nested from just over a limit to far past the parser's stack."""
        n = self.pick((31, 32, 33, 64, 100, 999, 1001, 5000, 50_000))
        style = self.rng.randrange(3)
        if style == 0:
            return Raw("[" * n + "]" * n)
        if style == 1:
            return Raw('{"a":' * n + "1" + "}" * n)
        return Raw('[{"a":' * (n // 2) + "0" + "}]" * (n // 2))

    def _width(self, depth: int) -> int:
        return self.pick((0, 1, 1, 2, 3, 4, 7) + ((50,) if depth == 0 else ()))

    def dumps(self, value: Any) -> str:
        """``value`` as JSON text; :class:`Raw` parts are embedded unchanged."""
        if isinstance(value, Raw):
            return str(value)
        if isinstance(value, dict):
            return "{" + ",".join(f"{json.dumps(str(k))}:{self.dumps(v)}"
                                  for k, v in value.items()) + "}"
        if isinstance(value, list | tuple):
            return "[" + ",".join(self.dumps(v) for v in value) + "]"
        return json.dumps(value)

    # -- mutations --------------------------------------------------------------------------
    def mutate(self, text: str) -> str:
        """A broken copy: truncated, spliced, doubled, garbage appended, a character swapped."""
        if not text:
            return self.text()
        at = self.rng.randrange(len(text) + 1)
        kind = self.rng.randrange(6)
        if kind == 0:
            return text[:at]
        if kind == 1:
            return text[:at] + self.text(200) + text[at:]
        if kind == 2:
            return text + self.pick(("}", "]", ",", " garbage", "\x00", "\n{}", text))
        if kind == 3:
            return text[:at] + text[at + 1:]
        if kind == 4:
            return text[:at] + self.pick('{}[]",:\\') + text[at:]
        return text.replace('"', "'", 1)

    def header_value(self) -> bytes:
        """A header value h11 lets through: visible ASCII and obs-text (0x80-0xFF), inner
        spaces and tabs, no CR/LF/NUL, nothing leading or trailing."""
        kind = self.rng.randrange(4)
        if kind == 0:
            raw = self.text(2000).encode("utf-8", "ignore")
        elif kind == 1:
            raw = bytes(self.rng.randrange(0x80, 0x100) for _ in range(self.rng.randrange(1, 30)))
        elif kind == 2:
            raw = b"Bearer " + self.pick((b"a.b.c", b"x" * 9000, b"eyJhbGciOiJub25lIn0.e30.",
                                          b"\xe9\xe8", b"null", b"Bearer"))
        else:
            raw = self.pick((b"0", b"-1", b"99999999999999999999999999", b"nan", b"1\t2"))
        kept = bytes(b for b in raw if b == 9 or 0x20 <= b <= 0x7E or b >= 0x80)
        return kept.strip(b" \t") or b"x"

    def blob(self) -> bytes:
        """Bytes that are often not UTF-8 at all."""
        kind = self.rng.randrange(4)
        if kind == 0:
            return bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 64)))
        if kind == 1:
            return self.pick((b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                              b"\x00", b"\x80" * 10, b"\xef\xbb\xbf{}", b"\xfe\xff\x00{"))
        if kind == 2:
            return self.mutate(self.value()).encode("utf-8", "surrogatepass")
        return self.value().encode("utf-16")
