"""The time budget of one GraphQL operation: a deadline checked where resolvers fan out, turns
for the event loop meanwhile, and one clear error instead of a page of partial ones."""

from __future__ import annotations

import asyncio
import time

import pytest
import strawberry

from servers.graphql.budget import CODE, Budget, OverBudget, TimeBudget, checkpoint


def test_budget_gives_turns_when_due_and_raises_past_the_deadline() -> None:
    now = [100.0]
    budget = Budget(1.0, yield_every=0.005, clock=lambda: now[0])
    assert budget.check() is False
    now[0] += 0.006
    assert budget.check() is True and budget.check() is False
    now[0] += 1.0
    with pytest.raises(OverBudget) as info:
        budget.check()
    assert budget.spent and info.value.extensions == {"code": CODE, "budgetSeconds": 1.0}


class ShortBudget(TimeBudget):
    seconds = 0.05


@strawberry.type
class Row:
    n: int

    @strawberry.field
    async def cells(self, count: int) -> list[int]:
        out = []
        for i in range(count):
            await checkpoint()
            time.sleep(0.0005)  # real work that holds the loop, as resolvers do
            out.append(i)
        return out


@strawberry.type
class SlowQuery:
    @strawberry.field
    async def rows(self, count: int) -> list[Row]:
        await checkpoint()
        return [Row(n=i) for i in range(count)]


SCHEMA = strawberry.Schema(query=SlowQuery, extensions=[ShortBudget])


async def test_an_operation_past_its_budget_answers_one_error_and_no_data() -> None:
    turns = 0

    async def other_connection() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    other = asyncio.create_task(other_connection())
    try:
        result = await SCHEMA.execute("{ rows(count: 20) { cells(count: 400) } }")
    finally:
        other.cancel()
    assert result.data is None
    assert [e.extensions["code"] for e in result.errors] == [CODE]
    assert "time budget of 0.05 s" in result.errors[0].message
    assert turns > 0  # the loop ran other work while the operation did


async def test_an_operation_within_its_budget_is_untouched() -> None:
    result = await SCHEMA.execute("{ rows(count: 2) { n cells(count: 3) } }")
    assert result.errors is None
    assert result.data == {"rows": [{"n": 0, "cells": [0, 1, 2]}, {"n": 1, "cells": [0, 1, 2]}]}


async def test_checkpoint_outside_any_operation_does_nothing() -> None:
    await checkpoint()  # no budget in this context: no error, no wait
