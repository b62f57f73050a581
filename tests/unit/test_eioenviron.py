"""servers.eioenviron: engineio's ASGI environ, key for key, without a class per request."""

from __future__ import annotations

import gc
from typing import Any

from engineio.async_drivers import asgi as eio_asgi

from servers import eioenviron

SCOPE = {
    "type": "http", "method": "POST", "path": "/socket.io/",
    "query_string": b"EIO=4&transport=polling&sid=abc",
    "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"text/plain"),
                (b"content-length", b"11"), (b"x-forwarded-proto", b"https"),
                (b"accept", b"a"), (b"accept", b"b"), (b"x-bad", b"\xff")],
}


def run(coro: Any) -> Any:
    """Run a coroutine that never has to wait (its receive answers at once), with no loop."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("the coroutine waited")


def receiver(*events: dict[str, Any]) -> Any:
    pending = list(events)

    async def receive() -> dict[str, Any]:
        return pending.pop(0)

    return receive


def body_events() -> list[dict[str, Any]]:
    return [{"type": "http.request", "body": b"hello ", "more_body": True},
            {"type": "http.request", "body": b"world", "more_body": False}]


async def send(message: dict[str, Any]) -> None:
    pass


def test_the_environ_is_engineios_key_for_key() -> None:
    receive = receiver(*body_events())
    ours = run(eioenviron.translate_request(SCOPE, receive, send))
    theirs = run(eio_asgi.translate_request(SCOPE, receiver(*body_events()), send))
    ours.pop("wsgi.input"), theirs.pop("wsgi.input")
    theirs["asgi.receive"] = receive  # (each was given its own)
    assert ours == theirs
    assert ours["HTTP_ACCEPT"] == "a,b" and ours["wsgi.url_scheme"] == "https"
    assert "HTTP_X_BAD" not in ours


def test_the_body_reads_as_engineios_does() -> None:
    for lengths in ([None], [4, None], [4, 4, 100], [3, None, None]):
        reads = []
        for translate in (eioenviron.translate_request, eio_asgi.translate_request):
            body = run(translate(SCOPE, receiver(*body_events()), send))["wsgi.input"]
            reads.append([run(body.read(n)) for n in lengths])
        assert reads[0] == reads[1], lengths
    assert run(eioenviron.translate_request(SCOPE, receiver({"type": "http.disconnect"}),
                                            send)) == {}


def test_a_request_leaves_no_reference_cycle() -> None:
    """engineio's own leaves a class (and what its closure holds) for the collector."""
    def garbage_after(translate: Any) -> int:
        gc.collect()
        environ = run(translate(SCOPE, receiver(*body_events()), send))
        run(environ["wsgi.input"].read(None))
        del environ
        return gc.collect()

    assert garbage_after(eio_asgi.translate_request) > 0  # what this module is for
    assert garbage_after(eioenviron.translate_request) == 0
