"""``GraphQLClient``: the asyncio shell that joins a link chain to the normalized cache.

gql sends requests; it has no cache, no fetch policies, no optimistic updates. This
client adds them the way Apollo Client and the chapter's ``graphql_flutter`` do, with
the decisions left to the pure core:

* which of cache and network a fetch policy uses is :func:`rtlab.graphql.policies`'
  table, not an ``if`` chain here;
* what an error policy keeps of an answer with ``errors`` is the same table's;
* the cache (:class:`rtlab.graphql.cache.Cache`) normalizes, reads, writes, layers
  optimistic results and tells watchers.

What is left here is I/O and bookkeeping: send the operation down the link chain,
write the answer, and record every cache hit and every network call on a
:class:`~rtlab.state.Timeline` (``FRAME_OUT`` for an operation sent, ``FRAME_IN`` for
its answer, ``NOTE`` for an answer from the cache), so a notebook can count round trips.

:meth:`GraphQLClient.watch_query` returns an :class:`ObservableQuery`: a live result
(``loading`` / ``data`` / ``error``) that follows the cache, with ``refetch``, polling
and ``fetch_more``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from graphql import DocumentNode

from rtlab.graphql import policies
from rtlab.graphql.documents import (
    Document,
    add_typename,
    checked_variables,
    operation_of,
    parse_document,
    source_locations,
)
from rtlab.graphql.links import Link, NetworkError, Operation, Response
from rtlab.graphql.policies import Now, Then
from rtlab.outbox import until_end
from rtlab.state import ERROR, FRAME_IN, FRAME_OUT, NOTE, Timeline

RESULT = "result"  # an ObservableQuery's timeline: a new result (``data`` holds it)

LOADING, DATA, FAILED = "loading", "data", "error"


@dataclass(frozen=True)
class QueryResult:
    """One answer as a view sees it.

    ``source`` says where ``data`` came from: ``cache``, ``network`` or ``optimistic``.
    ``errors`` are GraphQL errors (kept per the error policy); ``network_error`` is set
    when no answer came at all. ``partial`` is True when ``data`` lacks fields the
    document asks for (``error_policy="all"`` keeps such data).
    """

    data: dict[str, Any] | None = None
    errors: tuple[dict[str, Any], ...] = ()
    network_error: Exception | None = None
    loading: bool = False
    source: str = "network"
    partial: bool = False

    @property
    def state(self) -> str:
        """``loading``, ``error`` or ``data``: what a view shows."""
        if self.loading and self.data is None:
            return LOADING
        if self.network_error is not None or (self.errors and self.data is None):
            return FAILED
        return DATA

    @property
    def error(self) -> str | None:
        """One line describing what went wrong, or None."""
        if self.network_error is not None:
            return f"network: {self.network_error}"
        if self.errors:
            return "; ".join(str(e.get("message", e)) for e in self.errors)
        return None

    @property
    def error_codes(self) -> list[str]:
        return [str((e.get("extensions") or {}).get("code", "")) for e in self.errors]


class GraphQLClient:
    """Queries, mutations and watched queries over ``link``, cached in ``cache``.

    ``fetch_policy`` and ``error_policy`` are the defaults for queries;
    ``mutation_fetch_policy`` is ``network-only`` (the answer is written to the cache,
    so every view of a changed entity updates) or ``no-cache`` (the chapter's choice:
    views stay stale). ``cache`` may be None only for a client that never caches
    (every operation then behaves as ``no-cache``).
    """

    def __init__(self, link: Link, cache: Any = None, *, fetch_policy: str = "cache-first",
                 error_policy: str = "none", mutation_fetch_policy: str = "network-only",
                 add_typename: bool = True, timeline: Timeline | None = None,
                 name: str = "graphql") -> None:
        policies.FetchPolicy(fetch_policy)  # unknown names fail here, with the known ones
        policies.ErrorPolicy(error_policy)
        policies.decide_mutation(mutation_fetch_policy)
        self.link = link
        self.cache = cache
        self.fetch_policy, self.error_policy = fetch_policy, error_policy
        self.mutation_fetch_policy = mutation_fetch_policy
        self.add_typename = add_typename
        self.timeline = timeline if timeline is not None else Timeline()
        self.name = name
        self.network_calls = 0
        self.cache_hits = 0
        self._ids = itertools.count(1)
        self._queries: set[ObservableQuery] = set()

    # -- documents ------------------------------------------------------------------------------
    def _prepare(self, document: Document, variables: Mapping[str, Any] | None,
                 operation_name: str | None = None) -> tuple[DocumentNode, str, dict[str, Any]]:
        """The document as sent (``__typename`` added), its name, and checked variables."""
        doc = parse_document(document)
        if self.add_typename:
            doc = add_typename(doc)
        op = operation_of(doc, operation_name)
        name = op.name.value if op.name else "(anonymous)"
        return doc, name, checked_variables(doc, op, variables)

    # -- the network ----------------------------------------------------------------------------
    async def _send(self, doc: DocumentNode, name: str, variables: dict[str, Any],
                    context: Mapping[str, Any] | None = None) -> Response:
        op = Operation(doc, variables, name if name != "(anonymous)" else None,
                       dict(context or {}))
        self.network_calls += 1
        self.timeline.record(FRAME_OUT, data={"operation": name, "variables": variables},
                             detail=op.kind)
        started = time.perf_counter()
        try:
            response = await self.link.request(op)
        except NetworkError as exc:
            self.timeline.record(ERROR, data={"operation": name}, detail=str(exc))
            raise
        ms = (time.perf_counter() - started) * 1000
        if response.errors:  # point into the text the caller wrote, not the printed copy
            response.errors = source_locations(doc, response.errors)
        codes = [c for c in response.error_codes() if c]
        self.timeline.record(
            FRAME_IN,
            data={"operation": name, "errors": codes or len(response.errors)}
            if response.errors else {"operation": name},
            detail=f"{ms:.1f} ms",
        )
        return response

    def _note_cache(self, name: str, policy: str) -> None:
        self.cache_hits += 1
        self.timeline.record(NOTE, data={"operation": name}, detail=f"cache hit ({policy})")

    # -- the cache ------------------------------------------------------------------------------
    def _read(self, doc: DocumentNode, variables: dict[str, Any],
              optimistic: bool = True) -> tuple[dict[str, Any] | None, bool]:
        """``(data, complete)`` from the cache (``(None, False)`` when it holds nothing)."""
        if self.cache is None:
            return None, False
        diff = self.cache.diff(doc, variables, optimistic=optimistic)
        return diff.data, diff.complete

    def _write(self, doc: DocumentNode, data: dict[str, Any], variables: dict[str, Any]) -> None:
        if self.cache is not None and data is not None:
            self.cache.write_query(doc, variables, data)

    # -- queries --------------------------------------------------------------------------------
    async def query(self, document: Document, variables: Mapping[str, Any] | None = None, *,
                    fetch_policy: str | None = None, error_policy: str | None = None,
                    operation_name: str | None = None,
                    context: Mapping[str, Any] | None = None) -> QueryResult:
        """One answer, per the fetch policy (``cache-and-network`` answers the network's)."""
        doc, name, variables = self._prepare(document, variables, operation_name)
        results = [r async for r in self._fetch(doc, name, variables, fetch_policy,
                                                 error_policy, context)]
        return results[-1]

    async def _fetch(self, doc: DocumentNode, name: str, variables: dict[str, Any],
                     fetch_policy: str | None, error_policy: str | None,
                     context: Mapping[str, Any] | None = None) -> AsyncIterator[QueryResult]:
        """The results a fetch policy yields, in order: at most one before the network
        (the cached data, or a cache-only miss), then the network's. Each step is a cell
        of :data:`rtlab.graphql.policies.FETCH_TABLE` / ``ERROR_TABLE``."""
        fetch_policy = fetch_policy or self.fetch_policy
        error_policy = error_policy or self.error_policy
        if self.cache is None:
            fetch_policy = "no-cache"
        cached, complete = self._read(doc, variables)
        decision = policies.decide(fetch_policy, policies.status_of(complete, cached))
        if decision.now is Now.CACHED:
            self._note_cache(name, fetch_policy)
            yield QueryResult(cached, source="cache", loading=decision.network)
        elif decision.now is Now.MISS:
            self.timeline.record(NOTE, data={"operation": name}, detail="cache miss (cache-only)")
            yield QueryResult(None, (_cache_miss(name),), source="cache")
        if not decision.network:
            return
        try:
            response = await self._send(doc, name, variables, context)
        except NetworkError as exc:  # no answer: an error under every error policy
            yield QueryResult(cached if decision.now is Now.CACHED else None,
                              network_error=exc, source="network")
            return
        outcome = _outcome(error_policy, response)
        if isinstance(outcome, QueryResult):
            yield outcome
            return
        errors = tuple(outcome.errors or ())
        if decision.write and outcome.write:
            self._write(doc, outcome.data, variables)
            if decision.then is Then.READ_BACK:
                data, complete = self._read(doc, variables)
                if data is not None:
                    yield QueryResult(data, errors, source="network", partial=not complete)
                    return
        yield QueryResult(outcome.data, errors, source="network",
                          partial=bool(errors) and outcome.data is not None)

    # -- mutations ------------------------------------------------------------------------------
    async def mutate(self, document: Document, variables: Mapping[str, Any] | None = None, *,
                     optimistic_response: Mapping[str, Any] | None = None,
                     update: Callable[[Any, QueryResult], Any] | None = None,
                     fetch_policy: str | None = None, error_policy: str | None = None,
                     operation_name: str | None = None,
                     context: Mapping[str, Any] | None = None) -> QueryResult:
        """Send a mutation; optionally show ``optimistic_response`` at once.

        The optimistic answer is written to its own cache layer (and ``update`` run on
        it), so every watcher shows it immediately. When the server answers, the real
        result is written (unless ``no-cache``), ``update`` runs with it, and then the
        layer is removed: watchers go from the optimistic view straight to the
        confirmed one. On an error the layer is removed and nothing else changes.
        """
        doc, name, variables = self._prepare(document, variables, operation_name)
        decision = policies.decide_mutation(fetch_policy or self.mutation_fetch_policy)
        error_policy = error_policy or "none"
        layer = None
        if optimistic_response is not None and self.cache is not None:
            layer = f"{name}#{next(self._ids)}"
            optimistic = QueryResult(dict(optimistic_response), source="optimistic")

            def write_optimistic(cache: Any) -> None:
                cache.write_query(doc, variables, optimistic.data)
                if update is not None:
                    update(cache, optimistic)

            self.cache.record_optimistic(layer, write_optimistic)
            self.timeline.record(NOTE, data={"operation": name}, detail="optimistic layer added")
        try:
            response = await self._send(doc, name, variables, context)
        except NetworkError as exc:
            self._rollback(layer, name)
            return QueryResult(None, network_error=exc)
        outcome = _outcome(error_policy, response)
        if isinstance(outcome, QueryResult) or outcome.data is None:
            self._rollback(layer, name)
            return outcome if isinstance(outcome, QueryResult) else QueryResult(
                None, tuple(outcome.errors or ()))
        result = QueryResult(outcome.data, tuple(outcome.errors or ()))
        if self.cache is not None:
            # One batch, so watchers go from the optimistic view straight to the confirmed
            # one; the layer goes first, so ``update`` reads what the server said, not the
            # optimistic guess it would otherwise add to a second time.
            with self.cache.batch():
                if layer is not None:
                    self.cache.remove_optimistic(layer)
                if decision.write and outcome.write:
                    self.cache.write_query(doc, variables, outcome.data)
                if update is not None:
                    update(self.cache, result)
        if layer is not None:
            self.timeline.record(NOTE, data={"operation": name},
                                 detail="optimistic layer replaced by the server's answer")
        return result

    def _rollback(self, layer: str | None, name: str) -> None:
        if layer is not None:
            self.cache.remove_optimistic(layer)
            self.timeline.record(NOTE, data={"operation": name},
                                 detail="optimistic layer rolled back")

    # -- subscriptions --------------------------------------------------------------------------
    def subscribe(self, document: Document, variables: Mapping[str, Any] | None = None,
                  *, operation_name: str | None = None, context: Mapping[str, Any] | None = None,
                  update: Callable[[Any, QueryResult], Any] | None = None,
                  inbox_size: int | None = None) -> ClientSubscription:
        """Start a subscription now; each event is written to the cache as it arrives.

        Returns a :class:`ClientSubscription`: iterate it for :class:`QueryResult`\\ s, or
        just follow its ``timeline`` (a status pill, a message list). Events are written to
        the cache when they arrive, iterated or not, so every query view showing an entity
        they carry updates; ``update(cache, result)`` runs after each write, in the same
        batch (the place to append a new message to a list a query shows). ``inbox_size=0``
        keeps no results for iteration (a subscription only watched).
        """
        doc, name, variables = self._prepare(document, variables, operation_name)
        ctx = dict(context or {})
        if inbox_size is not None:
            ctx["inbox_size"] = inbox_size
        op = Operation(doc, variables, name if name != "(anonymous)" else None, ctx)
        self.network_calls += 1
        self.timeline.record(FRAME_OUT, data={"operation": name, "variables": variables},
                             detail="subscription")
        return ClientSubscription(self, doc, name, variables, op, update)

    def _on_event(self, doc: DocumentNode, name: str, variables: dict[str, Any],
                  response: Response, update: Callable[[Any, QueryResult], Any] | None
                  ) -> QueryResult:
        """One subscription event: recorded, written to the cache, ``update`` run."""
        self.timeline.record(FRAME_IN, data={"operation": name}, detail="event")
        result = QueryResult(response.data, tuple(response.errors))
        if response.data is not None and not response.errors and self.cache is not None:
            with self.cache.batch():
                self._write(doc, response.data, variables)
                if update is not None:
                    update(self.cache, result)
        return result

    # -- watched queries ------------------------------------------------------------------------
    def watch_query(self, document: Document, variables: Mapping[str, Any] | None = None, *,
                    fetch_policy: str | None = None, error_policy: str | None = None,
                    poll_interval: float | None = None,
                    operation_name: str | None = None) -> ObservableQuery:
        """A live query: fetched now (in a task), then kept in step with the cache.

        ``fetch_policy`` decides the first fetch only. With ``poll_interval`` every poll
        asks the network, ``network-only`` (``no-cache`` for a ``no-cache`` query),
        whatever the first fetch's policy: Apollo Client 3's rule
        (``ObservableQuery.updatePolling``), so ``cache-first`` plus a poll means a
        cached first paint, then a refresh every interval. Apollo Client 2 and
        graphql_flutter refuse a poll on ``cache-first`` / ``cache-only`` instead
        (:mod:`rtlab.chapter.graphql_operations`, point 5).
        """
        doc, name, checked = self._prepare(document, variables, operation_name)
        query = ObservableQuery(self, doc, name, dict(variables or {}), checked,
                                fetch_policy or self.fetch_policy,
                                error_policy or self.error_policy)
        self._queries.add(query)
        query._start()
        if poll_interval:
            query.start_polling(poll_interval)
        return query

    # -- tidy up --------------------------------------------------------------------------------
    async def close(self) -> None:
        """Stop every watched query and close the links that hold connections."""
        for query in list(self._queries):
            await query.close()
        for link in _links_in(self.link):
            closer = getattr(link, "close", None)
            if closer is not None:
                result = closer()
                if asyncio.iscoroutine(result):
                    await result

    async def __aenter__(self) -> GraphQLClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _cache_miss(name: str) -> dict[str, Any]:
    return {"message": f"cache-only: the cache does not hold all of {name}",
            "extensions": {"code": "CACHE_MISS"}}


def _outcome(error_policy: str, response: Response) -> policies.Outcome | QueryResult:
    """The error table's cell for an answer: an Outcome, or the error result to show."""
    try:
        return policies.apply_error_policy(error_policy, response.data, response.errors)
    except policies.GraphQLErrors as exc:
        return QueryResult(None, tuple(exc.errors), source="network")


def _no_terminating_link(op: Operation) -> AsyncIterator[Response]:
    raise RuntimeError(f"no terminating link handled this {op.kind}: end the chain with one")


def _links_in(link: Any) -> list[Any]:
    """Every link in a chain or split, depth first (for closing them)."""
    found, stack, seen = [], [link], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        found.append(item)
        stack.extend(getattr(item, "links", ()) or ())
        for side in ("left", "right"):
            if getattr(item, side, None) is not None:
                stack.append(getattr(item, side))
    return found


class ObservableQuery:
    """A watched query: ``result`` (``state`` loading / data / error) kept up to date.

    Results are recorded on ``timeline`` as ``result`` events, so a view (or
    :func:`rtlab.waiting.until`) can follow them. The query stays in step with the
    cache: a mutation or another query that changes an entity it shows gives it a new
    result with no network call. Use from the asyncio loop only.
    """

    def __init__(self, client: GraphQLClient, document: DocumentNode, name: str,
                 given: dict[str, Any], variables: dict[str, Any], fetch_policy: str,
                 error_policy: str) -> None:
        self.client, self.document, self.name = client, document, name
        self._given = given
        self.variables = variables
        self.fetch_policy, self.error_policy = fetch_policy, error_policy
        self.timeline = Timeline(maxlen=1000)
        self.result = QueryResult(loading=True, source="none")
        self.results = 0
        self.poll_interval: float | None = None
        self._unwatch: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._poller: asyncio.Task[None] | None = None
        self.closed = False

    @property
    def state(self) -> str:
        return self.result.state

    @property
    def data(self) -> dict[str, Any] | None:
        return self.result.data

    # -- results --------------------------------------------------------------------------------
    def _emit(self, result: QueryResult) -> None:
        if self.closed:
            return
        self.result = result
        self.results += 1
        self.timeline.record(RESULT, data=result, detail=f"{result.state} from {result.source}")

    def _on_cache_result(self, diff: Any) -> None:
        self._on_cache(diff.data, diff.complete)

    def _on_cache(self, data: Any, complete: bool = True) -> None:
        """The cache changed something this query shows: a new result, no network."""
        if self.closed or data == self.result.data:
            return
        self._emit(replace(self.result, data=data, source="cache", loading=False,
                           partial=not complete, network_error=None))

    def _watch(self) -> None:
        if self._unwatch is None and self.client.cache is not None and self._caches:
            self._unwatch = self.client.cache.watch(self.document, self.variables,
                                                    self._on_cache_result)

    def _unwatch_now(self) -> None:
        if self._unwatch is not None:
            unwatch, self._unwatch = self._unwatch, None
            unwatch()

    @property
    def _caches(self) -> bool:
        return self.fetch_policy != "no-cache"

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _start(self) -> None:
        self._spawn(self._run(self.fetch_policy))

    async def _run(self, fetch_policy: str) -> QueryResult:
        last = self.result
        async for result in self.client._fetch(self.document, self.name, self.variables,
                                               fetch_policy, self.error_policy):
            last = result
            self._emit(result)
        self._watch()
        return last

    # -- what a view calls ----------------------------------------------------------------------
    async def settled(self, timeout: float | None = 10.0) -> QueryResult:
        """Wait until the current fetch (if any) has finished; the result then."""
        if self._tasks:
            await asyncio.wait_for(asyncio.gather(*list(self._tasks)), timeout)
        return self.result

    async def refetch(self, variables: Mapping[str, Any] | None = None) -> QueryResult:
        """Ask the network again (``network-only``; ``no-cache`` for a ``no-cache`` query),
        optionally with changed variables."""
        if variables:
            self._set_variables({**self._given, **variables})
        self._emit(replace(self.result, loading=True))
        return await self._spawn(self._run(self._network_policy))

    @property
    def _network_policy(self) -> str:
        """What a refetch or a poll asks with: the network, storing the answer unless this
        query stores nothing (Apollo Client 3 and graphql_flutter keep ``no-cache``)."""
        return "no-cache" if self.fetch_policy == "no-cache" else "network-only"

    def _set_variables(self, given: dict[str, Any]) -> None:
        op = operation_of(self.document, None if self.name == "(anonymous)" else self.name)
        checked = checked_variables(self.document, op, given)
        self._unwatch_now()
        self._given, self.variables = given, checked

    def start_polling(self, interval: float) -> None:
        """Refetch every ``interval`` seconds until :meth:`stop_polling`."""
        if interval <= 0:
            raise ValueError(f"poll interval must be > 0, got {interval}")
        self.stop_polling()
        self.poll_interval = interval
        self._poller = asyncio.get_running_loop().create_task(self._poll(interval))

    async def _poll(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self._run(self._network_policy)
            except Exception as exc:  # a bad poll is shown as an error; the next one tries again
                self._emit(replace(self.result, network_error=exc, loading=False))

    def stop_polling(self) -> None:
        poller, self._poller = self._poller, None
        self.poll_interval = None
        if poller is not None:
            poller.cancel()

    @property
    def polling(self) -> bool:
        return self._poller is not None and not self._poller.done()

    async def fetch_more(self, variables: Mapping[str, Any],
                         merge: Callable[[Any, Any], Any] | None = None) -> QueryResult:
        """Fetch another page and merge it into this query's result.

        ``variables`` are checked against the document's declarations: a variable the
        query does not declare (the chapter's ``{'limit': 10, 'offset': 10}`` sent with a
        query that declares only ``$userId``) is refused with an error naming it, since
        the server would silently ignore it and answer page one again.

        With ``merge(existing, incoming)`` (the chapter's ``updateQuery``) the merged data
        is written back under this query's own variables; without it the page is written
        under its own variables, for a field policy's ``merge`` to combine.
        """
        page_vars = {**self._given, **variables}
        op = operation_of(self.document, None if self.name == "(anonymous)" else self.name)
        checked = checked_variables(self.document, op, page_vars)
        policy = "no-cache" if merge is not None else "network-only"
        pages = [r async for r in self.client._fetch(self.document, self.name, checked, policy,
                                                      self.error_policy)]
        page = pages[-1]
        if page.data is None or page.state == FAILED:
            self._emit(replace(self.result, network_error=page.network_error,
                               errors=page.errors))
            return page
        if merge is not None:
            merged = merge(self.result.data, page.data)
            self.client._write(self.document, merged, self.variables)
        data, complete = self.client._read(self.document, self.variables)
        if data is not None:
            self._on_cache(data, complete)
        return page

    async def close(self) -> None:
        """Stop polling, stop following the cache, cancel a fetch in flight."""
        self.closed = True
        self.stop_polling()
        self._unwatch_now()
        tasks = [*self._tasks, *([self._poller] if self._poller else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.client._queries.discard(self)


class ClientSubscription:
    """A subscription started by :meth:`GraphQLClient.subscribe`.

    An async iterator of :class:`QueryResult` (``async for``; the subscription is cancelled
    when the loop ends). ``timeline`` and ``state`` are the transport's own subscription's
    when it has them (:class:`rtlab.graphql.ws.Subscription`), so a status pill shows this
    subscription's state, not just the socket's. ``close()`` cancels it.
    """

    def __init__(self, client: GraphQLClient, doc: DocumentNode, name: str,
                 variables: dict[str, Any], op: Operation,
                 update: Callable[[Any, QueryResult], Any] | None) -> None:
        self.client, self.name, self.variables = client, name, variables
        self._doc, self._update = doc, update
        self.inner = client.link.subscribe(op, _no_terminating_link)
        self.timeline: Timeline = getattr(self.inner, "timeline", None) or Timeline(maxlen=1000)
        self._direct = hasattr(self.inner, "listeners")
        if self._direct:  # write the cache as events arrive, iterated or not
            self.inner.listeners.append(self._listen)
        self._iterator: AsyncIterator[Response] | None = None
        self.closed = False

    def __repr__(self) -> str:
        return f"<ClientSubscription {self.name} {self.state}>"

    @property
    def state(self) -> Any:
        """The transport subscription's ``ConnectionState`` (``None`` if it has none)."""
        return getattr(self.inner, "state", None)

    @property
    def events(self) -> int:
        return int(getattr(self.inner, "events", 0))

    async def wait_live(self, timeout: float | None = 10.0) -> None:
        """Wait until the server has the subscription (see ``Subscription.wait_live``)."""
        waiter = getattr(self.inner, "wait_live", None)
        if waiter is not None:
            await waiter(timeout)

    def _listen(self, response: Response) -> None:
        self.client._on_event(self._doc, self.name, self.variables, response, self._update)

    async def next(self) -> QueryResult:
        if self._iterator is None:
            inner = self.inner
            self._iterator = inner if hasattr(inner, "__anext__") else inner.__aiter__()
        response = await self._iterator.__anext__()
        if self._direct:
            return QueryResult(response.data, tuple(response.errors))
        return self.client._on_event(self._doc, self.name, self.variables, response,
                                     self._update)

    __anext__ = next

    def __aiter__(self) -> AsyncIterator[QueryResult]:
        return until_end(self.next, finish=self.close)

    async def close(self) -> None:
        """Cancel the subscription (the transport's other subscriptions keep running)."""
        if self.closed:
            return
        self.closed = True
        closer = getattr(self.inner, "cancel", None) or getattr(self.inner, "aclose", None)
        if closer is not None:
            await closer()

    aclose = close


__all__ = ["DATA", "FAILED", "LOADING", "RESULT", "ClientSubscription", "GraphQLClient",
           "ObservableQuery", "QueryResult"]
