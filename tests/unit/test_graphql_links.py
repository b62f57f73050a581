"""Link composition: order, auth refresh-and-retry, error reporting, retry rules, split.

The terminating link here is a scripted stand-in that records what reached it:
these tests are about how links compose. The real HTTP and WebSocket links are
tested against the demo server in tests/integration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rtlab.backoff import Constant
from rtlab.graphql.links import (
    AuthLink,
    ErrorLink,
    Link,
    NetworkError,
    Operation,
    Response,
    RetryLink,
    chain,
    is_subscription,
    split,
)

QUERY = Operation.of("query Me { me { id } }")
MUTATION = Operation.of("mutation M { createPost(input: {title: \"t\"}) { id } }")
SUBSCRIPTION = Operation.of("subscription S { postCreated { id } }")
UNAUTH = Response(errors=[{"message": "no", "extensions": {"code": "UNAUTHENTICATED"}}])


class Scripted(Link):
    """Answers from a script: a Response, or an exception to raise."""

    def __init__(self, *script: Response | Exception) -> None:
        self.script = list(script)
        self.seen: list[Operation] = []

    async def request(self, op, forward=None):
        self.seen.append(op)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    async def _stream(self, op) -> AsyncIterator[Response]:
        self.seen.append(op)
        for step in self.script:
            yield step

    def subscribe(self, op, forward=None):
        return self._stream(op)


async def no_sleep(_: float) -> None:
    return None


def test_operation_kind_and_naming() -> None:
    assert (QUERY.kind, MUTATION.kind, SUBSCRIPTION.kind) == ("query", "mutation", "subscription")
    two = Operation.of("query A { me { id } } query B { me { id } }")
    with pytest.raises(ValueError, match="operation_name"):
        _ = two.kind
    assert Operation.of(two.document, operation_name="B").kind == "query"


async def test_links_run_left_to_right_and_headers_accumulate() -> None:
    order: list[str] = []

    class Tag(Link):
        def __init__(self, name: str) -> None:
            self.name = name

        async def request(self, op, forward):
            order.append(self.name)
            return await forward(op.with_headers({f"x-{self.name}": "1"}))

    end = Scripted(Response(data={"me": None}))
    await chain(Tag("a"), Tag("b"), end).request(QUERY)
    assert order == ["a", "b"]
    assert end.seen[0].context["headers"] == {"x-a": "1", "x-b": "1"}


async def test_auth_adds_the_current_token_every_time() -> None:
    tokens = iter(["t1", "t2"])
    end = Scripted(Response(data={}), Response(data={}))
    link = chain(AuthLink(lambda: next(tokens)), end)
    await link.request(QUERY)
    await link.request(QUERY)
    assert [op.context["headers"]["Authorization"] for op in end.seen] == ["Bearer t1", "Bearer t2"]


async def test_auth_refreshes_once_then_retries_with_the_new_token() -> None:
    calls: list[str] = []

    async def refresh() -> str:
        calls.append("refresh")
        return "fresh"

    end = Scripted(UNAUTH, Response(data={"me": {"id": "1"}}))
    auth = AuthLink(lambda: "stale", refresh)
    response = await chain(auth, end).request(QUERY)
    assert response.data == {"me": {"id": "1"}}
    assert calls == ["refresh"] and auth.refreshes == 1
    assert [op.context["headers"]["Authorization"] for op in end.seen] == [
        "Bearer stale",
        "Bearer fresh",
    ]


async def test_auth_gives_up_after_one_refresh() -> None:
    end = Scripted(UNAUTH, UNAUTH)
    response = await chain(AuthLink(lambda: "bad", lambda: "still-bad"), end).request(QUERY)
    assert response.unauthenticated and len(end.seen) == 2


async def test_auth_without_a_new_token_returns_the_error() -> None:
    end = Scripted(UNAUTH)
    response = await chain(AuthLink(lambda: "bad", lambda: None), end).request(QUERY)
    assert response.unauthenticated and len(end.seen) == 1


async def test_error_link_reports_but_never_swallows() -> None:
    graphql_seen, network_seen = [], []
    errors = ErrorLink(
        lambda op, exc: network_seen.append(exc), lambda op, r: graphql_seen.append(r)
    )
    response = await chain(errors, Scripted(UNAUTH)).request(QUERY)
    assert response is graphql_seen[0]
    with pytest.raises(NetworkError):
        await chain(errors, Scripted(NetworkError("down"))).request(QUERY)
    assert len(network_seen) == 1


async def test_retry_network_errors_with_the_policy() -> None:
    retry = RetryLink(Constant(0.5), max_attempts=3, sleep=no_sleep)
    end = Scripted(NetworkError("a"), NetworkError("b", 503), Response(data={"ok": True}))
    assert (await chain(retry, end).request(QUERY)).data == {"ok": True}
    assert retry.delays == [0.5, 0.5]


async def test_retry_gives_up_after_max_attempts() -> None:
    retry = RetryLink(Constant(0.1), max_attempts=2, sleep=no_sleep)
    with pytest.raises(NetworkError, match="b"):
        await chain(retry, Scripted(NetworkError("a"), NetworkError("b"))).request(QUERY)


@pytest.mark.parametrize(
    ("op", "error", "tries"),
    [
        (QUERY, NetworkError("bad request", 400), 1),  # a 4xx will not change
        (MUTATION, NetworkError("lost"), 1),  # a lost answer may hide an applied change
        (QUERY.with_context(retry=False), NetworkError("lost"), 1),
        (QUERY, NetworkError("busy", 429), 2),
    ],
)
async def test_retry_only_what_is_safe(op: Operation, error: Exception, tries: int) -> None:
    end = Scripted(error, error)
    with pytest.raises(NetworkError):
        await chain(RetryLink(Constant(0), max_attempts=2, sleep=no_sleep), end).request(op)
    assert len(end.seen) == tries


async def test_graphql_errors_are_never_retried() -> None:
    end = Scripted(UNAUTH)
    response = await chain(RetryLink(max_attempts=3, sleep=no_sleep), end).request(QUERY)
    assert response.unauthenticated and len(end.seen) == 1


async def test_split_sends_subscriptions_one_way_and_the_rest_the_other() -> None:
    ws = Scripted(Response(data={"n": 1}), Response(data={"n": 2}))
    http = Scripted(Response(data={}))
    link = split(is_subscription, ws, chain(AuthLink(lambda: "t"), http))
    await link.request(QUERY)
    events = [r.data async for r in link.subscribe(SUBSCRIPTION)]
    assert events == [{"n": 1}, {"n": 2}]
    assert http.seen[0].kind == "query" and ws.seen[0].kind == "subscription"


async def test_a_chain_without_a_terminating_link_says_so() -> None:
    with pytest.raises(RuntimeError, match="terminating link"):
        await chain(AuthLink(lambda: None)).request(QUERY)
