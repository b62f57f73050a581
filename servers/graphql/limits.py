"""Abuse limits of the GraphQL endpoint, each answered with a clear error.

- body size: an HTTP body over ``MAX_BODY_BYTES`` is refused (413) before it is parsed;
- batch size: a JSON array of more than ``MAX_BATCH`` operations is refused (400);
- tokens: a document of more than ``MAX_TOKENS`` lexical tokens fails to parse;
- depth: selections nested deeper than ``MAX_DEPTH`` are refused before validation
  (introspection's own ``__schema``/``__type`` fields are not counted, so tools still work);
- cost: an operation that may resolve more than ``MAX_COST`` fields (list sizes multiply down
  the tree, :mod:`servers.graphql.cost`) is refused before it runs, with the cost and the
  limit in the error (``extensions.code = "QUERY_TOO_COSTLY"``);
- aliases: more than ``MAX_ALIASES`` aliases fail validation (the cheap way to ask for one
  expensive field a thousand times);
- time: a query or mutation stops after :data:`servers.graphql.budget.SECONDS`
  (``TIME_BUDGET_EXCEEDED``) and yields the event loop every few milliseconds meanwhile.

Errors carry ``extensions.code`` (``BAD_REQUEST``, ``PAYLOAD_TOO_LARGE``,
``GRAPHQL_PARSE_FAILED``, ``GRAPHQL_VALIDATION_FAILED``, ``QUERY_TOO_COSTLY``,
``TIME_BUDGET_EXCEEDED``) so a client can tell them apart.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter
from strawberry.extensions.base_extension import SchemaExtension

from servers.graphql import cost
from servers.graphql.budget import TimeBudget

MAX_BODY_BYTES = 256 * 1024
MAX_BATCH = 20
MAX_TOKENS = 5000
MAX_DEPTH = 8
MAX_COST = 10_000
MAX_LIST = 100  # the largest page a list field serves (``limit`` is clamped to it)
ASSUMED_LIST = 10  # what a list field without a ``limit`` argument is assumed to return
MAX_ALIASES = 30
MAX_SUBSCRIPTIONS_PER_CONNECTION = 500


class QueryLimits(SchemaExtension):
    """Depth and cost of the operation, measured with its variables before validation runs
    (graphql-core cannot see variables in a validation rule). Refusing here skips validation
    and execution: strawberry answers the error as a pre-execution error."""

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and not ctx.pre_execution_errors:
            measured = cost.measure(ctx.schema._schema, document, ctx.operation_name,
                                    ctx.variables, max_list=MAX_LIST, default_list=ASSUMED_LIST)
            problem = measured and refusal(measured, ctx.operation_name)
            if problem:
                ctx.pre_execution_errors = [problem]
        yield


def refusal(measured: cost.Measure, name: str | None) -> GraphQLError | None:
    if measured.depth > MAX_DEPTH:
        return GraphQLError(
            f"'{name or 'anonymous'}' nests {measured.depth} levels and exceeds the maximum "
            f"operation depth of {MAX_DEPTH}",
            extensions={"code": "GRAPHQL_VALIDATION_FAILED", "depth": measured.depth,
                        "maxDepth": MAX_DEPTH},
        )
    if measured.cost > MAX_COST:
        digits = len(str(measured.cost))
        shown = f"{measured.cost:,}" if digits <= 15 else f"about 10^{digits - 1}"
        return GraphQLError(
            f"query too costly: it may resolve up to {shown} fields (list sizes multiply "
            f"down the tree) and the limit is {MAX_COST:,}; ask for smaller pages or fewer "
            "nested lists",
            extensions={"code": "QUERY_TOO_COSTLY", "cost": min(measured.cost, 2**53),
                        "maxCost": MAX_COST},
        )
    return None


def extensions() -> list[Callable[[], SchemaExtension]]:
    """The schema extensions that enforce the limits (HTTP and WebSocket alike). Factories,
    not instances: strawberry makes one per operation, so concurrent operations never share
    an extension's state."""
    return [
        functools.partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        QueryLimits,
        functools.partial(MaxAliasesLimiter, max_alias_count=MAX_ALIASES),
        TimeBudget,
    ]


def batch_error(size: int) -> str | None:
    if size == 0:
        return "an empty batch: send at least one operation"
    if size > MAX_BATCH:
        return f"batch of {size} operations; at most {MAX_BATCH} are allowed"
    return None
