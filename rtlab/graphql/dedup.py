"""``DedupLink``: identical queries in flight share one request (Apollo's ``queryDeduplication``).

Two widgets that ask for ``user(id: 1)`` at the same moment need one answer, not two
requests. While a query is on its way, another one with the same document, variables
and operation name (and the same caller-set headers) waits for the same answer; once
the answer is in, the next identical query goes out again (this is not a cache).

As in Apollo Client (``QueryManager.getObservableFromLink``, whose ``mutate`` passes
``deduplication = false``): mutations are never deduplicated (two identical mutations
are two changes), and one operation opts out with ``context["dedup"] = False``
(Apollo's ``context.queryDeduplication``). Apollo keys on the printed query and the
variables only; this key also holds the headers already in the context, so two
callers with different credentials never share an answer. Put the link first in the
chain, before the auth link. Subscriptions pass through untouched.

Each waiter gets its own copy of the answer, and a caller that gives up (cancelled)
does not cancel the request the others are waiting for.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Hashable
from typing import Any

from rtlab.graphql.links import Forward, Link, Operation, Response


def dedup_key(op: Operation) -> Hashable:
    """Same key = same request: the printed document, variables (key order ignored),
    operation name and the headers already set."""
    variables = json.dumps(op.variables, sort_keys=True, separators=(",", ":"), default=str)
    headers = tuple(sorted((k.lower(), v) for k, v in op.context.get("headers", {}).items()))
    return (op.query, variables, op.operation_name, headers)


class DedupLink(Link):
    """Shares one in-flight request among identical queries; ``shared`` counts the saved ones."""

    def __init__(self) -> None:
        self._in_flight: dict[Hashable, asyncio.Task[Response]] = {}
        self.shared = 0

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def request(self, op: Operation, forward: Forward) -> Response:
        if op.kind != "query" or op.context.get("dedup", True) is False:
            return await forward(op)
        key = dedup_key(op)
        task = self._in_flight.get(key)
        if task is not None:
            self.shared += 1
            return copy.deepcopy(await asyncio.shield(task))
        task = asyncio.ensure_future(forward(op))
        self._in_flight[key] = task
        task.add_done_callback(lambda _t, key=key: self._forget(key, _t))
        return await asyncio.shield(task)

    def _forget(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        if self._in_flight.get(key) is task:
            del self._in_flight[key]
        if not task.cancelled():
            task.exception()  # retrieved: a failure every waiter saw is not "never retrieved"
