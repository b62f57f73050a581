"""The first answer to each ``clientId``: a retried ``chat_message`` or ``doc_change`` (same
``clientId``, same sender) gets that answer again and is not broadcast twice, whichever
worker the retry reaches.

``first(key, make, version_of)`` answers ``(answer, repeat)``: the first answer stored under
``key`` and whether this call came after it. Only the first caller's ``make()`` is kept; with
``version_of`` its answer also carries ``version``, the next number of that document's
sequence, drawn in the same step and by the first caller only: a duplicate costs no version
(clients read a gap in the versions as an edit they missed).

- :class:`LocalDedupe`: one process's recent answers, the last :data:`WINDOW` of them.
- :class:`RedisDedupe`: one key per ``clientId`` under the broker's prefix, written by one Lua
  script (:data:`FIRST`), so of two copies racing on two workers exactly one is first; each
  key expires :data:`TTL_MS` after it was written, so the store cannot grow without bound.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from servers.broker import tuple_key
from servers.broker.sequence import LocalSequences, RedisSequences

Answer = dict[str, Any]
#: how many answers one process remembers
WINDOW = 1000
#: how long Redis remembers an answer: a retry comes seconds after the first copy, a
#: client's offline queue is flushed within minutes
TTL_MS = 10 * 60 * 1000

#: KEYS[1]: the clientId's key; KEYS[2], when given: the sequence ``version`` is drawn from.
#: ARGV[1]: this caller's answer (a non-empty JSON object); ARGV[2]: its lifetime in ms.
#: Answers {1, the first answer} to a repeat, {0, this answer} to the first caller.
FIRST = """
local first = redis.call('GET', KEYS[1])
if first then return {1, first} end
local answer = ARGV[1]
if KEYS[2] then
  answer = string.sub(answer, 1, -2) .. ', "version": ' .. redis.call('INCR', KEYS[2]) .. '}'
end
redis.call('SET', KEYS[1], answer, 'PX', ARGV[2])
return {0, answer}
"""


class Dedupe(Protocol):
    async def first(self, key: tuple[str, ...], make: Callable[[], Answer],
                    version_of: str | None = None) -> tuple[Answer, bool]: ...


class LocalDedupe:
    """Draws versions from ``sequences`` (one process's, which never suspend: check, draw
    and store happen in one step of the event loop)."""

    def __init__(self, sequences: LocalSequences, window: int = WINDOW) -> None:
        self.sequences = sequences
        self.window = window
        self._seen: OrderedDict[tuple[str, ...], Answer] = OrderedDict()

    async def first(self, key: tuple[str, ...], make: Callable[[], Answer],
                    version_of: str | None = None) -> tuple[Answer, bool]:
        seen = self._seen.get(key)
        if seen is not None:
            return seen, True
        answer = make()
        if version_of is not None:
            answer["version"] = await self.sequences.next(version_of)
        self._seen[key] = answer
        while len(self._seen) > self.window:
            self._seen.popitem(last=False)
        return answer, False


class RedisDedupe:
    def __init__(self, redis: Any, prefix: str, sequences: RedisSequences,
                 ttl_ms: int = TTL_MS) -> None:
        self.redis = redis
        self.prefix = prefix
        self.sequences = sequences
        self.ttl_ms = ttl_ms
        self._first: Any = None  # the registered script

    async def first(self, key: tuple[str, ...], make: Callable[[], Answer],
                    version_of: str | None = None) -> tuple[Answer, bool]:
        if self._first is None:
            self._first = self.redis.register_script(FIRST)
        answer = make()
        keys = [tuple_key(self.prefix, key)]
        if version_of is not None:
            keys.append(self.sequences.key(version_of))
        repeat, stored = await self._first(keys=keys, args=[json.dumps(answer), self.ttl_ms])
        return json.loads(stored), bool(repeat)
