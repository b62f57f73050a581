"""Abuse limits of the GraphQL endpoint, each answered with a clear error.

- body size: an HTTP body over ``MAX_BODY_BYTES`` is refused (413) before it is parsed;
- batch size: a JSON array of more than ``MAX_BATCH`` operations is refused (400);
- tokens: a document of more than ``MAX_TOKENS`` lexical tokens fails to parse;
- depth: selections nested deeper than ``MAX_DEPTH`` fail validation
  (introspection's own ``__schema``/``__type`` fields are not counted, so tools still work);
- aliases: more than ``MAX_ALIASES`` aliases fail validation (the cheap way to ask for one
  expensive field a thousand times).

Errors carry ``extensions.code`` (``BAD_REQUEST``, ``PAYLOAD_TOO_LARGE``,
``GRAPHQL_PARSE_FAILED``, ``GRAPHQL_VALIDATION_FAILED``) so a client can tell them apart.
"""

from __future__ import annotations

from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.extensions.base_extension import SchemaExtension
from strawberry.extensions.query_depth_limiter import IgnoreContext

MAX_BODY_BYTES = 256 * 1024
MAX_BATCH = 20
MAX_TOKENS = 5000
MAX_DEPTH = 8
MAX_ALIASES = 30
MAX_SUBSCRIPTIONS_PER_CONNECTION = 500


def _introspection(ctx: IgnoreContext) -> bool:
    return ctx.field_name.startswith("__")


def extensions() -> list[SchemaExtension]:
    """The schema extensions that enforce the document limits (HTTP and WebSocket alike)."""
    return [
        MaxTokensLimiter(max_token_count=MAX_TOKENS),
        QueryDepthLimiter(max_depth=MAX_DEPTH, should_ignore=_introspection),
        MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
    ]


def batch_error(size: int) -> str | None:
    if size == 0:
        return "an empty batch: send at least one operation"
    if size > MAX_BATCH:
        return f"batch of {size} operations; at most {MAX_BATCH} are allowed"
    return None
