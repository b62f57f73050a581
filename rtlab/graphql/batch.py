"""Query batching: operations issued close together go out as one JSON-array request.

Apollo's ``BatchHttpLink`` is the reference (``@apollo/client/link/batch``,
``OperationBatcher``), and its knobs keep their meaning here:

* ``interval_ms`` (``batchInterval``, default 10): the first operation of a batch
  waits at most this long for company;
* ``max_size`` (``batchMax``, default 10): a batch that reaches this size goes at once;
* ``debounce`` (``batchDebounce``): every new operation restarts the wait, so a batch
  goes out once the caller has been quiet for ``interval_ms``;
* ``batch_key`` (``batchKey``): only operations with the same key share a batch. The
  default key is the URL and the headers (as Apollo's), plus here the operation kind.

What a batch never mixes: subscriptions are refused (they belong on a WebSocket: route
them with ``split``), and mutations are sent alone unless ``batch_mutations=True``, and
even then only with other mutations. An operation that asks to be sent its own way
(``context["http"]``: GET, or a persisted-query hash without the document) or opts out
(``context["batch"] = False``) goes alone too. Servers may run the operations of one
batch concurrently (the Apollo Router's batching documents exactly that; ours runs them
in order), so a query next to a mutation, or two mutations, have no order; sending them
alone keeps the order the caller wrote.

The server answers a JSON array in request order; answer *i* goes to caller *i*. An
operation that fails inside the batch (a GraphQL error, even a request error such as a
bad document) fails alone; only a batch that gets no array back at all (refused,
dropped, a 5xx, a server without batching) fails for every caller in it.

gql 4.4 can batch too (``Client(batch_interval=..., batch_max=...)``): one queue per
client, no key, no debounce, mutations mixed in. Its transport-level
``execute_batch`` (the JSON array and the check of the answers) is what this link uses
on the wire; the grouping is :class:`BatchPlan`, a pure core with time passed in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import httpx
from gql.transport.exceptions import TransportError, TransportServerError

from rtlab.graphql.http import HttpLink, graphql_request
from rtlab.graphql.links import Forward, NetworkError, Operation, Response


@dataclass
class BatchPlan:
    """Which queued items go together, and when (no clock, no I/O).

    :meth:`add` queues an item under its key and returns a full batch to send now,
    or None; :meth:`due` returns the batches whose wait has ended; :meth:`next_due`
    says when to look again. ``interval`` is in seconds.
    """

    interval: float = 0.010
    max_size: int = 10
    debounce: bool = False
    _queues: dict[Hashable, list[Any]] = field(default_factory=dict, repr=False)
    _deadlines: dict[Hashable, float] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.interval < 0:
            raise ValueError(f"interval must be >= 0, got {self.interval}")
        if self.max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {self.max_size}")

    def add(self, key: Hashable, item: Any, now: float) -> list[Any] | None:
        """Queue ``item``; a batch that is now full is taken and returned."""
        queue = self._queues.setdefault(key, [])
        queue.append(item)
        if len(queue) >= self.max_size:
            return self.take(key)
        if len(queue) == 1 or self.debounce:
            self._deadlines[key] = now + self.interval
        return None

    def take(self, key: Hashable) -> list[Any]:
        """Remove and return the queue of ``key`` (empty if none)."""
        self._deadlines.pop(key, None)
        return self._queues.pop(key, [])

    def due(self, now: float) -> list[tuple[Hashable, list[Any]]]:
        """Every batch whose deadline has come, taken off the queues, in deadline order."""
        keys = sorted((d, i, k) for i, (k, d) in enumerate(self._deadlines.items()) if d <= now)
        return [(k, self.take(k)) for _, _, k in keys]

    def take_all(self) -> list[tuple[Hashable, list[Any]]]:
        """Every waiting batch, taken off the queues (to send at once, e.g. on close)."""
        return [(k, self.take(k)) for k in list(self._queues)]

    def next_due(self) -> float | None:
        """The earliest deadline of a waiting batch (None when nothing waits)."""
        return min(self._deadlines.values(), default=None)

    def discard(self, key: Hashable, item: Any) -> bool:
        """Drop a queued item (its caller gave up); True if it was still queued."""
        queue = self._queues.get(key)
        if not queue or item not in queue:
            return False
        queue.remove(item)
        if not queue:
            self.take(key)
        return True

    def waiting(self) -> int:
        return sum(len(q) for q in self._queues.values())


BatchKey = Callable[[Operation], Hashable]


class BatchHttpLink(HttpLink):
    """A terminating link like :class:`HttpLink` that batches queries (see the module doc).

    ``batches`` records the size of every batch sent, oldest first (bounded).
    """

    def __init__(self, url: str, *, interval_ms: float = 10.0, max_size: int = 10,
                 debounce: bool = False, batch_mutations: bool = False,
                 batch_key: BatchKey | None = None, **http_options: Any) -> None:
        super().__init__(url, **http_options)
        self.plan = BatchPlan(interval_ms / 1000.0, max_size, debounce)
        self.batch_mutations = batch_mutations
        self.batch_key = batch_key
        self.batches: list[int] = []
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    def key_of(self, op: Operation) -> Hashable:
        if self.batch_key is not None:
            return (op.kind, self.batch_key(op))
        return (op.kind, self.url, tuple(sorted(self.headers_for(op).items())))

    def batchable(self, op: Operation) -> bool:
        if op.kind == "subscription":
            raise ValueError("a subscription never goes in a batch (nor over HTTP): "
                             "route it to a WebSocketLink with split(is_subscription, ...)")
        if op.context.get("batch", True) is False or op.context.get("http"):
            return False  # opted out, or sent in a way of its own (GET, hash only)
        return op.kind == "query" or self.batch_mutations

    async def request(self, op: Operation, forward: Forward | None = None) -> Response:
        if not self.batchable(op):
            return await super().request(op)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Response] = loop.create_future()
        key, item = self.key_of(op), (op, future)
        full = self.plan.add(key, item, loop.time())
        if full is not None:
            self._spawn(full)
        self._arm(loop)
        try:
            return await future
        except asyncio.CancelledError:
            self.plan.discard(key, item)
            raise

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.plan.next_due()
        if deadline is not None:
            self._timer = loop.call_at(deadline, self._on_timer, loop)

    def _on_timer(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        for _key, batch in self.plan.due(loop.time()):
            self._spawn(batch)
        self._arm(loop)

    def _spawn(self, batch: list[tuple[Operation, asyncio.Future[Response]]]) -> None:
        live = [(op, f) for op, f in batch if not f.done()]
        if not live:
            return
        task = asyncio.ensure_future(self._send(live))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[Operation, asyncio.Future[Response]]]) -> None:
        self.batches = [*self.batches[-999:], len(batch)]
        if len(batch) == 1:  # a batch of one is a plain request: any server understands it
            op, future = batch[0]
            try:
                _settle(future, await super().request(op))
            except Exception as exc:
                _fail(future, exc)
            return
        try:
            responses = await self._post_batch([op for op, _ in batch])
        except Exception as exc:
            for _, future in batch:
                _fail(future, exc)
            return
        for (_, future), response in zip(batch, responses, strict=True):
            _settle(future, response)

    async def _post_batch(self, ops: list[Operation]) -> list[Response]:
        transport = await self._connected()
        for op in ops:
            self.wire.operation(op.kind)
        self.wire.request("POST")
        headers = self.headers_for(ops[0])
        try:
            results = await transport.execute_batch(
                [graphql_request(op) for op in ops], extra_args={"headers": headers})
        except TransportServerError as exc:
            raise NetworkError(f"HTTP {exc.code} from {self.url}: {exc}", exc.code) from exc
        except (TransportError, httpx.TransportError, OSError) as exc:
            raise NetworkError(f"no batch answer from {self.url}: {exc!r}") from exc
        return [Response(data=r.data, errors=[dict(e) for e in (r.errors or [])],
                         extensions=dict(r.extensions or {})) for r in results]

    async def flush(self) -> None:
        """Send whatever waits now and wait until every batch sent has been answered."""
        for _key, batch in self.plan.take_all():
            self._spawn(batch)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    async def close(self) -> None:
        await self.flush()
        await super().close()


def _settle(future: asyncio.Future[Response], response: Response) -> None:
    if not future.done():
        future.set_result(response)


def _fail(future: asyncio.Future[Response], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
