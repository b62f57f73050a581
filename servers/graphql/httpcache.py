"""HTTP caching of ``GET /graphql`` answers: ``Cache-Control``, ``ETag``, ``304 Not Modified``.

A GET query (a persisted-query hash above all: its URL is short and stable) can be served
by any HTTP cache on the way, if the server says so. The rules here (RFC 9111 for
caches, RFC 9110 §8.8.3 and §13.1.2 for ``ETag`` / ``If-None-Match``):

- a successful answer (200, no ``errors``) that reads only public root fields
  (:data:`PUBLIC_ROOT_FIELDS`) and was asked without ``Authorization`` gets
  ``Cache-Control: public, max-age=MAX_AGE``, a weak ``ETag`` (weak, because GZip may
  send the same representation with another content-coding) and ``Vary: Accept``;
- a request whose ``If-None-Match`` lists that tag gets ``304`` with no body;
- a signed-in request, or one that reads anything not public (``me``,
  ``notifications``, a field added later and not listed), gets ``private, no-store``:
  a shared cache must never hand one user's data to another, and not storing it at
  all is the simple way to keep that promise;
- an answer with errors gets ``no-store`` (a failure is not worth keeping), and so does an
  APQ miss (:mod:`servers.graphql.endpoint` marks it already).

POST answers get no caching headers: they are not cacheable without them (RFC 9110 §9.3.3).
The decision is pure (:func:`cache_control`); :func:`finish` applies it to a Starlette
response.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)
from starlette.requests import Request
from starlette.responses import Response

from servers.graphql import limits
from servers.graphql.apq import PersistedQueries

MAX_AGE = 5  # seconds: short, so a student sees an answer go stale and get revalidated
PUBLIC_ROOT_FIELDS = frozenset({"user", "post", "posts", "chatRoom", "__typename"})
PUBLIC = f"public, max-age={MAX_AGE}"
PRIVATE = "private, no-store"
NO_STORE = "no-store"
KEPT_ON_304 = ("cache-control", "etag", "vary")


def root_fields(query: str, operation_name: str | None = None) -> set[str] | None:
    """The root field names the chosen operation selects (through fragments too);
    None when the document does not parse or names no single operation."""
    try:
        document = parse(query, max_tokens=limits.MAX_TOKENS)
    except GraphQLError:
        return None
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)
           and (operation_name is None or (d.name is not None and d.name.value == operation_name))]
    if len(ops) != 1 or ops[0].operation.value != "query":
        return None
    names: set[str] = set()
    _collect(document, ops[0].selection_set, names, set())
    return names


def _collect(document: DocumentNode, selections: SelectionSetNode, names: set[str],
             seen: set[str]) -> None:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            names.add(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            _collect(document, selection.selection_set, names, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            for definition in document.definitions:
                if (isinstance(definition, FragmentDefinitionNode)
                        and definition.name.value == selection.name.value):
                    _collect(document, definition.selection_set, names, seen)


def cache_control(*, status: int, body: Any, query: str | None, operation_name: str | None,
                  signed_in: bool) -> str:
    """The ``Cache-Control`` of one GET answer (see the module docstring for the rules)."""
    if status != 200 or not isinstance(body, dict) or body.get("errors") or "data" not in body:
        return NO_STORE
    if signed_in or not isinstance(query, str):
        return PRIVATE
    fields = root_fields(query, operation_name)
    if not fields or not fields <= PUBLIC_ROOT_FIELDS:
        return PRIVATE
    return PUBLIC


def etag(body: bytes) -> str:
    """A weak entity tag: the same bytes always get the same tag."""
    return 'W/"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def matches(if_none_match: str | None, tag: str) -> bool:
    """RFC 9110 §13.1.2: ``*`` or any listed tag equal under weak comparison."""
    if not if_none_match:
        return False
    listed = [t.strip() for t in if_none_match.split(",") if t.strip()]
    return "*" in listed or any(_opaque(t) == _opaque(tag) for t in listed)


def _query_of(payload: Any, persisted: PersistedQueries) -> str | None:
    query = payload.get("query") if isinstance(payload, dict) else None
    if isinstance(query, str):
        return query
    extensions = payload.get("extensions") if isinstance(payload, dict) else None
    pq = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    digest = pq.get("sha256Hash") if isinstance(pq, dict) else None
    return persisted.get(digest) if isinstance(digest, str) else None


def finish(request: Request, payload: Any, persisted: PersistedQueries,
           response: Response) -> Response:
    """Give a GET answer its caching headers, or turn it into a ``304`` the client can use."""
    if request.method != "GET" or "cache-control" in response.headers:
        return response
    try:
        body = json.loads(response.body)
    except ValueError:
        body = None
    name = payload.get("operationName") if isinstance(payload, dict) else None
    directive = cache_control(
        status=response.status_code, body=body, query=_query_of(payload, persisted),
        operation_name=name if isinstance(name, str) else None,
        signed_in="authorization" in request.headers,
    )
    response.headers["Cache-Control"] = directive
    if directive != PUBLIC:
        return response
    tag = etag(bytes(response.body))
    response.headers["ETag"] = tag
    response.headers["Vary"] = "Accept"
    if matches(request.headers.get("if-none-match"), tag):
        kept = {k: response.headers[k] for k in KEPT_ON_304}
        return Response(status_code=304, headers=kept)
    return response
