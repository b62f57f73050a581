"""/sse/* on the real server, read with plain httpx + the spec parser (no rtlab client)."""

from __future__ import annotations

import httpx

from rtlab.chapter import ChapterSSEParser
from rtlab.sse import EventStreamParser, MessageEvent


async def _read(url: str, n: int, headers: dict[str, str] | None = None,
                types: tuple[str, ...] = ("news", "tick", "reset")) -> tuple[
                    list[MessageEvent], EventStreamParser, httpx.Headers]:
    """The first ``n`` events of ``types`` from one request, and the parser that read them."""
    parser = EventStreamParser()
    events: list[MessageEvent] = []
    async with httpx.AsyncClient(timeout=10) as http:
        async with http.stream("GET", url, headers=headers) as response:
            assert response.status_code == 200
            async for chunk in response.aiter_bytes():
                events += [e for e in parser.feed(chunk) if e.type in types]
                if len(events) >= n:
                    return events[:n], parser, response.headers
    raise AssertionError(f"stream ended after {len(events)} events")


async def test_news_stream_shape(shared_server) -> None:
    events, parser, headers = await _read(shared_server.http_url("/sse/news?interval=0.01"), 3)
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["cache-control"] == "no-store"
    assert parser.retry == 1000  # the first block carries retry:
    ids = [int(e.id) for e in events]
    assert ids == list(range(ids[0], ids[0] + 3))
    item = events[0].json()
    assert set(item) == {"id", "title", "summary", "timestamp"} and item["id"] == ids[0]
    assert all(e.type == "news" for e in events)


async def test_ticker_and_pings(shared_server) -> None:
    events, _, _ = await _read(shared_server.http_url("/sse/ticker?interval=0.02&ping=0.05"), 8,
                               types=("tick", "ping"))
    kinds = {e.type for e in events}
    assert kinds == {"tick", "ping"}
    tick = next(e for e in events if e.type == "tick").json()
    assert set(tick) == {"seq", "price", "timestamp"}


async def test_interval_sets_the_rate(shared_server) -> None:
    slow, _, _ = await _read(shared_server.http_url("/sse/news?interval=0.2&ping=0"), 2)
    fast, _, _ = await _read(shared_server.http_url("/sse/news?interval=0.01&ping=0"), 2)
    gap = lambda es: _stamp(es[1]) - _stamp(es[0])  # noqa: E731
    assert abs(gap(slow) - 0.2) < 0.01 and abs(gap(fast) - 0.01) < 0.005


def _stamp(event: MessageEvent) -> float:
    from datetime import datetime

    return datetime.fromisoformat(event.json()["timestamp"].replace("Z", "+00:00")).timestamp()


async def test_last_event_id_header_and_query_parameter_replay(shared_server) -> None:
    url = shared_server.http_url("/sse/news?interval=0.01")
    first, _, _ = await _read(url, 5)
    start = int(first[0].id)
    by_header, _, _ = await _read(url, 3, headers={"Last-Event-ID": str(start)})
    by_query, _, _ = await _read(f"{url}&lastEventId={start}", 3)
    expected = [str(start + 1), str(start + 2), str(start + 3)]
    assert [e.id for e in by_header] == expected
    assert [e.id for e in by_query] == expected
    # The header wins over the query parameter (a browser reconnect keeps its URL).
    both, _, _ = await _read(f"{url}&lastEventId=1", 1, headers={"Last-Event-ID": str(start)})
    assert both[0].id == str(start + 1)


async def test_an_id_older_than_the_buffer_gets_reset(shared_server) -> None:
    url = shared_server.http_url("/sse/news?interval=0")  # unpaced: 1,000+ events at once
    events, _, _ = await _read(url, 1100)
    assert int(events[-1].id) > 1001
    reset, parser, _ = await _read(url, 2, headers={"Last-Event-ID": "1"})
    assert reset[0].type == "reset"
    info = reset[0].json()
    assert info["requested"] == "1" and info["reason"].startswith("too old")
    assert reset[0].id == str(info["latest"])
    assert reset[1].type == "news" and int(reset[1].id) == info["latest"] + 1


async def test_unknown_ids_get_reset_too(shared_server) -> None:
    url = shared_server.http_url("/sse/news?interval=0.01")
    for bad in ("not-a-number", "999999999"):
        events, _, _ = await _read(url, 1, headers={"Last-Event-ID": bad})
        assert events[0].type == "reset" and events[0].json()["reason"].startswith("unknown id")


async def test_status_aid_and_bad_parameters(shared_server) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.get(shared_server.http_url("/sse/news?status=204"))).status_code == 204
        r401 = await http.get(shared_server.http_url("/sse/ticker?status=401"))
        assert r401.status_code == 401 and r401.headers["www-authenticate"] == "Bearer"
        assert (await http.get(shared_server.http_url("/sse/news?status=302"))).status_code == 400
        bad = await http.get(shared_server.http_url("/sse/news?interval=-1"))
        assert bad.status_code == 400 and "interval" in bad.json()["error"]
        unauthorized = await http.get(shared_server.http_url("/sse/news?auth=1"))
        assert unauthorized.status_code == 401


async def test_drop_cuts_sse_and_spares_websockets(lab_server) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        async with http.stream("GET", lab_server.http_url("/sse/news?interval=0.02")) as response:
            stats = await lab_server.chaos.astats()
            assert stats["sse"] >= 1
            result = await lab_server.chaos.adrop("sse")
            assert result["dropped"] == 1
            try:
                async for _ in response.aiter_bytes():
                    pass
                ended = "cleanly"
            except httpx.HTTPError as exc:
                ended = type(exc).__name__
    assert ended != "cleanly"


async def test_the_chapter_parser_gets_nothing_from_a_crlf_server(shared_server) -> None:
    chapter = ChapterSSEParser()
    spec = EventStreamParser()
    got_chapter, got_spec = [], []
    async with httpx.AsyncClient(timeout=5) as http:
        url = shared_server.http_url("/sse/news?interval=0.005")
        async with http.stream("GET", url) as response:
            async for chunk in response.aiter_bytes():
                got_chapter += chapter.feed(chunk)
                got_spec += spec.feed(chunk)
                if len(got_spec) >= 20:
                    break
    assert got_chapter == []  # every line ends with CRLF: "\n\n" never occurs
    assert len(chapter.buffer) > 1000  # ... and its buffer only grows
