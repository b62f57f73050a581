"""GraphQL over HTTP at ``/graphql``: POST (JSON), GET (query parameters), batches, APQ.

Our own thin endpoint around ``schema.execute`` rather than strawberry's view, because the
wire format is the lesson: strawberry's view answers request errors as plain text and has
no persisted queries. What this one does:

- ``POST`` with ``Content-Type: application/json``: one operation ``{query, variables,
  operationName, extensions}``, or a JSON array of them (a batch, answered as an array in
  request order, each element as if sent alone). ``GET ?query=&variables=&operationName=
  &extensions=`` (JSON-encoded values) for queries only; mutations need POST (405).
- ``Accept: application/graphql-response+json`` gets that media type and the
  GraphQL-over-HTTP status codes (400 when a document fails to parse or validate);
  plain ``application/json`` clients get 200 with ``errors`` as they always have.
- Requests that are not GraphQL at all (bad JSON, wrong types, too large, too many in a
  batch, no query) answer 4xx with ``{"errors": [{"message", "extensions": {"code"}}]}``,
  never a stack trace; the server keeps serving.
- Automatic persisted queries (:mod:`servers.graphql.apq`); a miss answers 200 with
  ``PersistedQueryNotFound`` and ``Cache-Control: no-store`` so no proxy caches the miss.
- ``Authorization: Bearer <JWT>`` is verified once per request; a bad or missing token
  makes only the protected fields fail (UNAUTHENTICATED), public ones still answer.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError, OperationDefinitionNode, parse
from starlette.requests import Request
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.http import process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from servers import auth, badinput, httpjson, safejson
from servers.graphql import apq, httpcache, limits
from servers.graphql.schema import Context, GraphQLApp

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


class RequestError(Exception):
    """Not a GraphQL request we can run: answered with ``status`` and one error."""

    def __init__(self, message: str, code: str = "BAD_REQUEST", status: int = 400,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"errors": [{"message": str(self), "extensions": {"code": self.code}}]}


def _media_type(request: Request) -> str:
    return GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in request.headers.get("accept", "") else JSON


async def _read_body(request: Request) -> bytes:
    try:
        return await httpjson.read_body(request, limits.MAX_BODY_BYTES)
    except httpjson.BodyError as exc:
        raise RequestError(str(exc), "PAYLOAD_TOO_LARGE", exc.status) from None


def _json(text: str | bytes, what: str) -> Any:
    try:
        return safejson.loads(text)
    except safejson.JSONError as exc:
        raise RequestError(f"{what} is not valid JSON: {exc}") from None


async def _payload(request: Request) -> Any:
    """The request as a dict (one operation) or a list (a batch)."""
    if request.method == "GET":
        params = request.query_params
        out: dict[str, Any] = {"query": params.get("query"),
                               "operationName": params.get("operationName")}
        for name in ("variables", "extensions"):
            raw = params.get(name)
            out[name] = _json(raw, f"the {name} parameter") if raw else None
        return out
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise RequestError(
            f"Content-Type {content_type or '(none)'} is not supported: send {JSON}",
            "UNSUPPORTED_MEDIA_TYPE", 415,
        )
    body = await _read_body(request)
    if not body.strip():
        raise RequestError("empty body: send a JSON object with a `query`")
    payload = _json(body, "the request body")
    if not isinstance(payload, dict | list):
        raise RequestError(
            "the body must be a JSON object (one operation) or an array (a batch), "
            f"not {type(payload).__name__}"
        )
    return payload


def _fields(op: Any) -> tuple[Any, dict[str, Any] | None, str | None, dict[str, Any] | None]:
    if not isinstance(op, dict):
        raise RequestError(f"an operation must be a JSON object, not {type(op).__name__}")
    query, variables = op.get("query"), op.get("variables")
    name, extensions = op.get("operationName"), op.get("extensions")
    for key, value, kind in (("query", query, str), ("variables", variables, dict),
                             ("operationName", name, str), ("extensions", extensions, dict)):
        if value is not None and not isinstance(value, kind):
            wanted = "a string" if kind is str else "an object"
            raise RequestError(f"`{key}` must be {wanted} or null, not {type(value).__name__}")
    return query, variables, name, extensions


def _code_pre_execution(errors: list[dict[str, Any]], originals: list[GraphQLError]) -> None:
    for formatted, original in zip(errors, originals, strict=False):
        code = ("GRAPHQL_PARSE_FAILED" if isinstance(original, GraphQLSyntaxError)
                else "GRAPHQL_VALIDATION_FAILED")
        formatted.setdefault("extensions", {}).setdefault("code", code)


def _operations(query: str) -> int:
    try:
        document = parse(query, max_tokens=limits.MAX_TOKENS)
    except GraphQLError:
        return 0  # strawberry reports the syntax error itself
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


class GraphQLEndpoint:
    """The Starlette endpoint; one per server process (it holds the APQ store)."""

    def __init__(self, schema: Any, app: GraphQLApp) -> None:
        self.schema = schema
        self.app = app

    def context(self, request: Request) -> Context:
        header = request.headers.get("authorization")
        ctx = Context(self.app, request=request)
        if header:
            try:
                ctx.viewer = auth.bearer_claims(header)
            except auth.AuthError as exc:
                ctx.auth_error = str(exc)
        return ctx

    async def handle(self, request: Request) -> Response:
        media = _media_type(request)
        try:
            if request.method not in ("GET", "POST"):
                raise RequestError("GraphQL over HTTP uses GET or POST", "METHOD_NOT_ALLOWED",
                                   405, {"Allow": "GET, POST"})
            payload = await _payload(request)
            ctx = self.context(request)
            if isinstance(payload, list):
                problem = limits.batch_error(len(payload))
                if problem:
                    raise RequestError(problem, "BATCH_TOO_LARGE" if payload else "BAD_REQUEST")
                results = [await self._one_in_batch(request, op, ctx) for op in payload]
                return self._response([body for body, _status, _h in results], 200, media, {})
            body, status, headers = await self.run_one(request, payload, ctx, media)
            return httpcache.finish(request, payload, self.app.persisted,
                                    self._response(body, status, media, headers))
        except RequestError as exc:
            badinput.report_scope(request.scope, str(exc))
            return self._response(exc.body(), exc.status, media, exc.headers)

    async def _one_in_batch(
        self, request: Request, op: Any, ctx: Context
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        try:
            return await self.run_one(request, op, ctx, JSON)
        except RequestError as exc:
            badinput.report_scope(request.scope, f"in a batch: {exc}")
            return exc.body(), exc.status, {}

    async def run_one(
        self, request: Request, op: Any, ctx: Context, media: str
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        """(response body, HTTP status, extra headers) of one operation."""
        query, variables, name, extensions = _fields(op)
        try:
            query = self.app.persisted.resolve(query, extensions)
        except apq.APQError as exc:
            if exc.status >= 400:
                badinput.report_scope(request.scope, str(exc))
            return ({"errors": [{"message": str(exc), "extensions": {"code": exc.code}}]},
                    exc.status, {"Cache-Control": "no-store"})
        if query is None:
            raise RequestError("no query: send `query`, or a persisted query hash in "
                               "`extensions.persistedQuery`")
        if name is None and _operations(query) > 1:  # strawberry would run the first one
            raise RequestError("the document has several operations: name the one to run "
                               "with `operationName`", "GRAPHQL_VALIDATION_FAILED")
        allowed = {OperationType.QUERY}
        if request.method == "POST":
            allowed.add(OperationType.MUTATION)
        try:
            result = await self.schema.execute(
                query, variable_values=variables, context_value=ctx, operation_name=name,
                allowed_operation_types=allowed, operation_extensions=extensions,
            )
        except MissingQueryError:
            raise RequestError("empty query: send a GraphQL document") from None
        except CannotGetOperationTypeError as exc:
            message = (f"no operation named {exc.operation_name!r} in the document"
                       if exc.operation_name else
                       "the document has several operations (or none): name the one to run "
                       "with `operationName`")
            raise RequestError(message, "GRAPHQL_VALIDATION_FAILED") from None
        except InvalidOperationTypeError as exc:
            if exc.operation_type == OperationType.SUBSCRIPTION:
                raise RequestError("subscriptions run over WebSocket: connect to WS /graphql "
                                   "(graphql-transport-ws or graphql-ws)", "BAD_REQUEST") from None
            raise RequestError("mutations need POST (a GET must not change anything)",
                               "METHOD_NOT_ALLOWED", 405, {"Allow": "POST"}) from None
        body = process_result(result)
        if isinstance(result, PreExecutionError):
            body.pop("data", None)  # the spec: no `data` when execution never started
            _code_pre_execution(body.get("errors", []), result.errors or [])
            return body, 400 if media == GRAPHQL_RESPONSE else 200, {}
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            # variables that do not fit their declared types: a request error, no execution
            body.pop("data", None)
            for formatted in body["errors"]:
                formatted.setdefault("extensions", {}).setdefault("code", "BAD_USER_INPUT")
            return body, 400 if media == GRAPHQL_RESPONSE else 200, {}
        return body, 200, {}

    def _response(self, body: Any, status: int, media: str, headers: dict[str, str]) -> Response:
        return Response(safejson.encode(body), status_code=status, media_type=media,
                        headers=headers)
