"""ReconnectingEventSource against a plain Starlette SSE endpoint that is not ours (run in the
test): events, resume with Last-Event-ID across a stream the server ends, and URLs that are
not event streams (a JSON 400, a 404, an HTML page), each answered with the status, the
Content-Type and what the server said."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.routing import Route

from rtlab.backoff import Constant
from rtlab.errors import ConnectionFailed
from rtlab.sse.client import ReconnectingEventSource, take
from rtlab.state import ATTEMPT, ConnectionState

S = ConnectionState


def feed_app(asked: list[str]) -> Starlette:
    """``/feed``: three events after the Last-Event-ID it is given, then the stream ends."""

    async def feed(request: Request) -> StreamingResponse:
        last = request.headers.get("last-event-id", "")
        asked.append(last)
        start = int(last or 0)

        async def events():
            yield "retry: 20\n\n"
            for n in range(start + 1, start + 4):
                yield f"id: {n}\nevent: count\ndata: {n}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def bad(request: Request) -> JSONResponse:
        return JSONResponse({"error": "no query: this is a GraphQL endpoint"}, status_code=400)

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse("<html><body>Welcome!</body></html>")

    return Starlette(routes=[Route("/feed", feed), Route("/graphql", bad), Route("/", page)])


async def test_events_resume_from_the_last_id_after_the_server_ends_the_stream(
        serve_asgi) -> None:
    asked: list[str] = []
    base = await serve_asgi(feed_app(asked))
    async with ReconnectingEventSource(f"{base}/feed", policy=Constant(0.01)) as source:
        events = await take(source, 6, timeout=5)
    assert [e.id for e in events] == ["1", "2", "3", "4", "5", "6"]
    assert [e.data for e in events] == ["1", "2", "3", "4", "5", "6"]
    assert asked[:2] == ["", "3"] and source.connections >= 2
    assert source.retry == 0.02  # the server's retry: was honoured


@pytest.mark.parametrize(("path", "says"), [
    ("/graphql", ["HTTP 400 Bad Request", "Content-Type 'application/json'",
                  "not an event stream", "this is a GraphQL endpoint", "not retrying"]),
    ("/nope", ["HTTP 404 Not Found", "no such URL", "text/plain", "not an event stream"]),
    ("/", ["wrong Content-Type 'text/html; charset=utf-8' (expected text/event-stream)",
           "HTTP 200 OK", "not an event stream", "Welcome!"]),
])
async def test_a_url_that_is_not_an_event_stream_says_so(serve_asgi, path, says) -> None:
    source = ReconnectingEventSource(f"{await serve_asgi(feed_app([]))}{path}")
    with pytest.raises(ConnectionFailed) as caught:
        await source.connect(timeout=5)
    message = str(caught.value)
    for words in says:
        assert words in message, (words, message)
    assert source.state is S.ERROR and not source.timeline.of_kind(ATTEMPT)
    await source.close()


@pytest.mark.parametrize("knob", [
    {"heartbeat_timeout": 0}, {"connect_timeout": -1}, {"retry": -0.5},
    {"retry": float("nan")}, {"max_event_size": 0}, {"inbox_size": -1},
])
def test_every_knob_is_checked(knob: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(knob))):
        ReconnectingEventSource("http://127.0.0.1:9/feed", **knob)
