"""JSON request bodies in and JSON answers out, the same bounded way for every HTTP route.

A body is read up to a size limit (more: :class:`BodyError` 413, before the rest is read) and
decoded with :func:`servers.safejson.loads` (bad JSON: :class:`BodyError` 400 that says why).
:class:`JSONResponse` encodes with :func:`servers.safejson.encode`, so echoing a client's
lone surrogate back in an error message can never turn into a 500.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse as _StarletteJSONResponse

from servers import safejson

DEFAULT_LIMIT = 64 * 1024


class BodyError(Exception):
    """A body we will not use; ``status`` is 400 or 413 and the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class JSONResponse(_StarletteJSONResponse):
    def render(self, content: Any) -> bytes:
        return safejson.encode(content)


async def read_body(request: Request, limit: int = DEFAULT_LIMIT) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyError(413, f"request body of {int(declared)} bytes; at most {limit} accepted")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyError(413, f"request body of {size}+ bytes; at most {limit} accepted")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int = DEFAULT_LIMIT, empty: Any = None) -> Any:
    """The decoded body; ``empty`` when the body is blank (None: a blank body is an error)."""
    body = await read_body(request, limit)
    if not body.strip():
        if empty is None:
            raise BodyError(400, "empty body: send JSON")
        return empty
    try:
        return safejson.loads(body)
    except safejson.JSONError as exc:
        raise BodyError(400, f"body is not valid JSON: {exc}") from None
