"""A time budget for executing one query or mutation, and the yields that keep the loop live.

The cost limit (:mod:`servers.graphql.cost`) bounds what a document may ask for; the budget
bounds what it may take, whatever the data: resolvers that fan out (the list fields) call
:func:`checkpoint`, which

- gives the event loop a turn (``await asyncio.sleep(0)``) once :data:`YIELD_EVERY` seconds
  of work have passed since the last turn, so one request never stalls the other connections
  (WebSocket pings, SSE streams, Socket.IO acks) for longer than that;
- raises :class:`OverBudget` (a ``GraphQLError`` with ``extensions.code =
  "TIME_BUDGET_EXCEEDED"``) once the operation has run :data:`SECONDS`.

:class:`TimeBudget` is the strawberry extension that starts a budget around each execution
and, when it ran out, answers one error and no partial data (graphql-core would otherwise
report every list field that hit the deadline). The budget lives in a context variable, so
concurrent operations (a WebSocket connection runs several) each have their own, and the
tasks graphql-core starts for async resolvers inherit it. Subscriptions are not budgeted
here: each event is bounded by the cost limit, and a stream is meant to run for long.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import AsyncIterator, Callable

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

SECONDS = 1.0
YIELD_EVERY = 0.005
CODE = "TIME_BUDGET_EXCEEDED"


class OverBudget(GraphQLError):
    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the operation ran past its time budget of {seconds:g} s and was stopped: "
            "ask for less (smaller limits, fewer nested lists)",
            extensions={"code": CODE, "budgetSeconds": seconds},
        )


class Budget:
    """The deadline and the last loop turn of one operation (``clock`` is injectable)."""

    def __init__(self, seconds: float = SECONDS, yield_every: float = YIELD_EVERY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.yield_every = yield_every
        self.clock = clock
        now = clock()
        self.deadline = now + seconds
        self.last_turn = now
        self.spent = False

    def check(self) -> bool:
        """Raise :class:`OverBudget` past the deadline; True when the loop is due a turn."""
        now = self.clock()
        if now > self.deadline:
            self.spent = True
            raise OverBudget(self.seconds)
        if now - self.last_turn >= self.yield_every:
            self.last_turn = now
            return True
        return False


_current: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "rtlab_graphql_budget", default=None)


async def checkpoint() -> None:
    """Call at each fan-out: enforces the running operation's budget and yields when due."""
    budget = _current.get()
    if budget is not None and budget.check():
        await asyncio.sleep(0)


class TimeBudget(SchemaExtension):
    """Runs each query and mutation under a fresh :class:`Budget`."""

    seconds = SECONDS

    async def on_execute(self) -> AsyncIterator[None]:
        budget = Budget(self.seconds)
        token = _current.set(budget)
        try:
            yield
        finally:
            _current.reset(token)
        result = self.execution_context.result
        if budget.spent and result is not None and hasattr(result, "errors"):
            result.data = None
            result.errors = [OverBudget(self.seconds)]
