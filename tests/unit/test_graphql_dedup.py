"""DedupLink: identical queries in flight share one request; mutations never do.

The server is a stand-in that holds every request until the test releases it, so
"in flight at the same time" is exact, not a race.
"""

from __future__ import annotations

import asyncio

from rtlab.graphql.dedup import DedupLink, dedup_key
from rtlab.graphql.links import Link, NetworkError, Operation, Response, chain

USER = "query U($id: ID!) { user(id: $id) { id name } }"
MUTATION = Operation.of('mutation M { updateUser(input: {name: "x"}) { id } }')


class Held(Link):
    """Answers every request once ``release`` is set; counts what reached it."""

    def __init__(self, fail: bool = False) -> None:
        self.release = asyncio.Event()
        self.seen: list[Operation] = []
        self.fail = fail
        self._arrived = asyncio.Event()

    async def reached(self, n: int) -> None:
        """Wait until ``n`` requests have arrived."""
        while len(self.seen) < n:
            self._arrived.clear()
            await asyncio.wait_for(self._arrived.wait(), 5)

    async def request(self, op, forward=None):
        self.seen.append(op)
        self._arrived.set()
        await self.release.wait()
        if self.fail:
            raise NetworkError("dropped")
        return Response(data={"n": len(self.seen), "variables": dict(op.variables)})


async def started(server: Held, requests: int, *calls) -> list[asyncio.Task]:
    """Start the calls; return once ``requests`` of them reached the server."""
    tasks = [asyncio.ensure_future(c) for c in calls]
    await server.reached(requests)
    return tasks


async def test_identical_queries_in_flight_share_one_request() -> None:
    server, dedup = Held(), DedupLink()
    link = chain(dedup, server)
    tasks = await started(server, 1,
                          *(link.request(Operation.of(USER, {"id": "1"})) for _ in range(3)))
    assert len(server.seen) == 1 and dedup.in_flight == 1
    server.release.set()
    answers = await asyncio.gather(*tasks)
    assert [a.data for a in answers] == [{"n": 1, "variables": {"id": "1"}}] * 3
    assert len({id(a) for a in answers}) == 3  # each caller owns its copy
    assert dedup.shared == 2 and dedup.in_flight == 0
    await link.request(Operation.of(USER, {"id": "1"}))  # in flight no more: asks again
    assert len(server.seen) == 2


async def test_different_variables_mutations_and_opt_outs_each_get_a_request() -> None:
    server = Held()
    link = chain(DedupLink(), server)
    tasks = await started(
        server, 5,
        link.request(Operation.of(USER, {"id": "1"})),
        link.request(Operation.of(USER, {"id": "2"})),
        link.request(MUTATION), link.request(MUTATION),
        link.request(Operation.of(USER, {"id": "1"}).with_context(dedup=False)),
    )
    assert len(server.seen) == 5
    server.release.set()
    await asyncio.gather(*tasks)


def test_the_key_ignores_variable_order_but_not_credentials() -> None:
    a = Operation.of("{ x(a: 1, b: 2) }", {"a": 1, "b": 2})
    b = Operation.of("{ x(a: 1, b: 2) }", {"b": 2, "a": 1})
    assert dedup_key(a) == dedup_key(b)
    assert dedup_key(a) != dedup_key(a.with_headers({"Authorization": "Bearer bob"}))


async def test_a_caller_that_gives_up_does_not_cancel_the_others() -> None:
    server = Held()
    link = chain(DedupLink(), server)
    first, second = await started(server, 1, link.request(Operation.of(USER, {"id": "1"})),
                                  link.request(Operation.of(USER, {"id": "1"})))
    first.cancel()
    await asyncio.sleep(0)
    server.release.set()
    assert (await second).data == {"n": 1, "variables": {"id": "1"}}
    assert first.cancelled()


async def test_a_failure_reaches_every_waiter() -> None:
    server = Held(fail=True)
    link = chain(DedupLink(), server)
    tasks = await started(server, 1,
                          *(link.request(Operation.of(USER, {"id": "1"})) for _ in range(2)))
    server.release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, NetworkError) for r in results) and len(server.seen) == 1


def test_subscriptions_pass_through() -> None:
    op = Operation.of("subscription S { postCreated { id } }")
    seen = []

    def forward(o):
        seen.append(o)
        return "stream"

    assert DedupLink().subscribe(op, forward) == "stream" and seen == [op]
