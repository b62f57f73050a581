"""Links: the middleware chain every GraphQL operation travels, as in Apollo and the chapter.

A link takes an :class:`Operation` and a ``forward`` function (the rest of the
chain) and returns a :class:`Response`; a *terminating* link (HTTP, WebSocket)
ignores ``forward`` and talks to the server. ``chain(auth, errors, retry,
http)`` composes them left to right; ``split(test, left, right)`` routes each
operation to one of two chains (subscriptions to the WebSocket, the rest to
HTTP).

Subscriptions travel the same chain through :meth:`Link.subscribe`, an async
iterator of responses; links that have nothing to add pass it on unchanged.

What the chapter's links get wrong, and these do not:

* its token "refresh" returns ``true`` without refreshing anything, then reads
  the same expired token; :class:`AuthLink` calls a real refresh and retries the
  operation once after an ``UNAUTHENTICATED`` answer;
* its error link only logs ``UNAUTHENTICATED``; here the auth link handles it
  and the error link reports, it does not swallow;
* it has no retry at all; :class:`RetryLink` retries *network* failures with an
  :mod:`rtlab.backoff` policy, and never retries GraphQL errors (the server
  answered: asking again gives the same answer) or mutations unless told to.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from graphql import DocumentNode, OperationDefinitionNode, parse, print_ast

from rtlab.backoff import Exponential, Policy
from rtlab.errors import NetworkError
from rtlab.sources import resolve

__all__ = ["AuthLink", "Chain", "ErrorLink", "Forward", "ForwardStream", "Link", "NetworkError",
           "Operation", "Response", "RetryLink", "Split", "TokenSource", "chain",
           "is_subscription", "split"]


@dataclass(frozen=True)
class Operation:
    """One GraphQL request on its way through the links.

    ``context`` carries what links add for the terminating link (``headers``)
    and what callers set per operation (``retry``: False to opt out).
    """

    document: DocumentNode
    variables: Mapping[str, Any] = field(default_factory=dict)
    operation_name: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    extensions: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, source: str | DocumentNode, variables: Mapping[str, Any] | None = None,
           operation_name: str | None = None, **context: Any) -> Operation:
        document = parse(source) if isinstance(source, str) else source
        return cls(document, dict(variables or {}), operation_name, dict(context))

    @property
    def definition(self) -> OperationDefinitionNode:
        """The operation the document runs (named by ``operation_name`` when there are several)."""
        ops = [d for d in self.document.definitions if isinstance(d, OperationDefinitionNode)]
        if self.operation_name is not None:
            ops = [d for d in ops if d.name is not None and d.name.value == self.operation_name]
        if len(ops) != 1:
            raise ValueError(
                f"document has {len(ops)} matching operations; name one with operation_name"
            )
        return ops[0]

    @property
    def kind(self) -> str:
        """``query``, ``mutation`` or ``subscription``."""
        return self.definition.operation.value

    @property
    def query(self) -> str:
        return print_ast(self.document)

    def with_context(self, **values: Any) -> Operation:
        return replace(self, context={**self.context, **values})

    def with_headers(self, headers: Mapping[str, str]) -> Operation:
        return self.with_context(headers={**self.context.get("headers", {}), **headers})


@dataclass
class Response:
    """What the server answered: ``data`` and/or ``errors`` (as dicts), and ``extensions``."""

    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    extensions: dict[str, Any] = field(default_factory=dict)

    def error_codes(self) -> list[str]:
        return [str((e.get("extensions") or {}).get("code", "")) for e in self.errors]

    @property
    def unauthenticated(self) -> bool:
        return "UNAUTHENTICATED" in self.error_codes()


Forward = Callable[[Operation], Awaitable[Response]]
ForwardStream = Callable[[Operation], AsyncIterator[Response]]


class Link:
    """Base link: passes everything on. Override :meth:`request` and/or :meth:`subscribe`."""

    async def request(self, op: Operation, forward: Forward) -> Response:
        return await forward(op)

    def subscribe(self, op: Operation, forward: ForwardStream) -> AsyncIterator[Response]:
        return forward(op)


def _end_of_chain(op: Operation) -> Any:
    raise RuntimeError(f"no terminating link handled this {op.kind}: end the chain with one")


class Chain(Link):
    """Links composed left to right; itself a link, so chains nest (``split`` uses that)."""

    def __init__(self, *links: Link) -> None:
        if not links:
            raise ValueError("a chain needs at least one link")
        self.links = links

    def _forward(self, index: int, forward: Forward) -> Forward:
        if index == len(self.links):
            return forward

        async def call(op: Operation) -> Response:
            return await self.links[index].request(op, self._forward(index + 1, forward))

        return call

    def _forward_stream(self, index: int, forward: ForwardStream) -> ForwardStream:
        if index == len(self.links):
            return forward

        def call(op: Operation) -> AsyncIterator[Response]:
            return self.links[index].subscribe(op, self._forward_stream(index + 1, forward))

        return call

    async def request(self, op: Operation, forward: Forward = _end_of_chain) -> Response:
        return await self._forward(0, forward)(op)

    def subscribe(
        self, op: Operation, forward: ForwardStream = _end_of_chain
    ) -> AsyncIterator[Response]:
        return self._forward_stream(0, forward)(op)


def chain(*links: Link) -> Chain:
    return Chain(*links)


class Split(Link):
    """Route each operation to ``left`` if ``test(op)`` else to ``right``."""

    def __init__(self, test: Callable[[Operation], bool], left: Link, right: Link) -> None:
        self.test, self.left, self.right = test, left, right

    async def request(self, op: Operation, forward: Forward = _end_of_chain) -> Response:
        return await (self.left if self.test(op) else self.right).request(op, forward)

    def subscribe(
        self, op: Operation, forward: ForwardStream = _end_of_chain
    ) -> AsyncIterator[Response]:
        return (self.left if self.test(op) else self.right).subscribe(op, forward)


def split(test: Callable[[Operation], bool], left: Link, right: Link) -> Split:
    return Split(test, left, right)


def is_subscription(op: Operation) -> bool:
    return op.kind == "subscription"


TokenSource = Callable[[], str | None | Awaitable[str | None]]


class AuthLink(Link):
    """Adds ``Authorization: Bearer <token>``; refreshes once on ``UNAUTHENTICATED`` and retries.

    ``get_token`` is called for every operation (so a token refreshed ahead of
    expiry elsewhere is picked up); ``refresh`` is called at most once per
    operation, when the server says the token was not good, and must return the
    new token (or ``None`` if it could not: the error answer is then returned).
    """

    def __init__(self, get_token: TokenSource, refresh: TokenSource | None = None,
                 header: str = "Authorization", scheme: str = "Bearer") -> None:
        self.get_token, self.refresh = get_token, refresh
        self.header, self.scheme = header, scheme
        self.refreshes = 0

    def _with_token(self, op: Operation, token: str | None) -> Operation:
        return op.with_headers({self.header: f"{self.scheme} {token}"}) if token else op

    async def request(self, op: Operation, forward: Forward) -> Response:
        response = await forward(self._with_token(op, await resolve(self.get_token)))
        if not response.unauthenticated or self.refresh is None:
            return response
        token = await resolve(self.refresh)
        self.refreshes += 1
        if not token:
            return response
        return await forward(self._with_token(op, token))


class ErrorLink(Link):
    """Calls ``on_network_error(op, exc)`` / ``on_graphql_errors(op, response)``; never swallows.

    A network error is re-raised after the callback; GraphQL errors travel on
    in the response, so the error policy downstream still sees them.
    """

    def __init__(self, on_network_error: Callable[[Operation, Exception], Any] | None = None,
                 on_graphql_errors: Callable[[Operation, Response], Any] | None = None) -> None:
        self.on_network_error, self.on_graphql_errors = on_network_error, on_graphql_errors

    async def request(self, op: Operation, forward: Forward) -> Response:
        try:
            response = await forward(op)
        except NetworkError as exc:
            if self.on_network_error is not None:
                self.on_network_error(op, exc)
            raise
        if response.errors and self.on_graphql_errors is not None:
            self.on_graphql_errors(op, response)
        return response


class RetryLink(Link):
    """Retries network errors with a backoff policy, up to ``max_attempts`` tries in all.

    GraphQL errors are answers, not failures, and are never retried. Mutations
    are retried only with ``retry_mutations=True`` (a lost answer may hide an
    applied change). ``sleep`` is injectable so tests and notebooks can watch
    the planned delays in ``self.delays``.
    """

    def __init__(self, policy: Policy | None = None, max_attempts: int = 3,
                 retry_mutations: bool = False, rng: random.Random | int | None = None,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts counts the first try too: it must be >= 1")
        self.policy = policy or Exponential(base=0.2, cap=2.0, jitter="full")
        self.max_attempts, self.retry_mutations = max_attempts, retry_mutations
        self.rng, self.sleep = rng, sleep
        self.delays: list[float] = []

    async def request(self, op: Operation, forward: Forward) -> Response:
        retryable = op.context.get("retry", True) and (
            op.kind != "mutation" or self.retry_mutations
        )
        delays = self.policy.delays(self.rng)
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await forward(op)
            except NetworkError as exc:
                if not (retryable and exc.retryable) or attempt == self.max_attempts:
                    raise
                delay = next(delays)
                self.delays.append(delay)
                await self.sleep(delay)
        raise AssertionError("unreachable")
