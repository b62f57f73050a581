"""The classroom's pure parts: counters, limits, the herd and rate records, who a caller is,
and the URLs a remote handle builds. Time is given, never read."""

from __future__ import annotations

import pytest

from rtlab import urls
from rtlab.errors import LabError
from rtlab.remote import RemoteServer, client_id, split
from servers.classroom.counters import LocalCounters
from servers.classroom.limits import Admission, Limits
from servers.classroom.members import Member, Unknown, identify
from servers.classroom.record import Herd, PerSecond


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_counters_count_per_window_and_start_again_in_the_next() -> None:
    clock = Clock(1000.2)
    counters = LocalCounters(clock)
    assert [await counters.incr("k", 1.0) for _ in range(3)] == [1, 2, 3]
    assert await counters.incr("other", 1.0) == 1
    clock.now = 1001.0  # the next aligned window
    assert await counters.incr("k", 1.0) == 1
    assert await counters.adjust("g", 2) == 2
    assert await counters.adjust("g", -2) == 0


async def test_admission_answers_each_limit_with_its_own_refusal() -> None:
    clock = Clock(50.25)
    admission = Admission(Limits(rate=2, client_connections=2, total_connections=3),
                          LocalCounters(clock), clock)
    assert [await admission.message("a") for _ in range(2)] == [None, None]
    late = await admission.message("a")
    assert late is not None and (late.status, late.close_code, late.code) == (
        429, 1008, "RATE_LIMITED")
    assert late.retry_after == 1.0 and "client a" in late.message
    assert await admission.message("b") is None  # per client
    assert await admission.open("a") is None and await admission.open("a") is None
    mine = await admission.open("a")
    assert mine is not None and (mine.status, mine.close_code) == (429, 1008)
    assert await admission.open("b") is None
    full = await admission.open("c")
    assert full is not None and (full.status, full.close_code, full.code) == (
        503, 1013, "SERVER_FULL")
    await admission.close("b")
    assert await admission.open("c") is None  # a refused open left nothing counted


def test_per_second_reports_the_last_whole_second() -> None:
    meter = PerSecond()
    for t in (10.1, 10.5, 10.9):
        meter.add(t)
    assert meter.rate(10.95) == 0  # second 10 is not over
    meter.add(11.2)
    assert meter.rate(11.3) == 3
    assert meter.rate(12.5) == 1  # second 11 had one
    assert meter.rate(14.0) == 0  # nothing in second 13


def test_herd_counts_attempts_per_100_ms_after_the_break() -> None:
    herd = Herd(bucket=0.1, span=1.0)
    herd.opened(5.0)  # no herd yet: not counted
    assert herd.summary(5.0) is None
    herd.start(10.0, "restart")
    for t in (10.01, 10.05, 10.15, 10.95, 11.5):
        herd.opened(t)
    summary = herd.summary(12.0)
    assert summary == {"cause": "restart", "seconds_ago": 2.0, "bucket_ms": 100,
                       "attempts": [2, 1, 0, 0, 0, 0, 0, 0, 0, 1], "total": 4, "busiest": 2}


def scope(query: bytes, headers: list[tuple[bytes, bytes]] = ()) -> dict:
    return {"type": "http", "path": "/", "query_string": query, "headers": list(headers),
            "client": ("10.0.0.7", 5555)}


def test_identify_strips_our_parameters_and_keeps_the_rest_byte_for_byte() -> None:
    s = scope(b"query=%7Bx%7D&join=J&rate=5&client=ada-1")
    assert identify(s, "J", "T") == Member("student", "ada-1")
    assert s["query_string"] == b"query=%7Bx%7D&rate=5"
    assert s["rtlab.client"] == "ada-1" and s["rtlab.role"] == "student"
    assert identify(scope(b"join=T"), "J", "T") == Member("instructor", "ip-10.0.0.7")
    headers = [(b"x-rtlab-join", b"J"), (b"x-rtlab-client", b"h")]
    assert identify(scope(b"", headers), "J", "T") == Member("student", "h")


@pytest.mark.parametrize(("query", "code"), [
    (b"", "JOIN_TOKEN_MISSING"),
    (b"join=", "JOIN_TOKEN_MISSING"),
    (b"join=nope", "JOIN_TOKEN_WRONG"),
    (b"join=J&client=a/graphql", "BAD_CLIENT_ID"),
    (b"join=J&client=" + b"x" * 65, "BAD_CLIENT_ID"),
])
def test_identify_refuses_with_a_code(query, code) -> None:
    found = identify(scope(query), "J", "T")
    assert isinstance(found, Unknown) and found.code == code


def test_urls_join_keeps_the_bases_query_after_the_paths_own() -> None:
    base = "http://h:1?join=T&client=C"
    assert urls.join(base, "/ws/ticker?rate=5") == "http://h:1/ws/ticker?rate=5&join=T&client=C"
    assert urls.join("http://h:1/", "/graphql") == "http://h:1/graphql"
    assert urls.websocket(urls.join(base, "/ws/echo")) == "ws://h:1/ws/echo?join=T&client=C"


@pytest.mark.parametrize("spec", ["http://h:8000/?join=TOK", "http://h:8000#TOK",
                                  "ws://h:8000/?join=TOK"])
def test_split_finds_the_token_wherever_the_join_url_carries_it(spec) -> None:
    assert split(spec) == ("http://h:8000", "TOK")


def test_split_without_a_token_or_with_a_bad_url_says_what_to_do() -> None:
    with pytest.raises(LabError, match="RTLAB_TOKEN"):
        split("http://h:8000")
    with pytest.raises(LabError, match="http://HOST:PORT"):
        split("h:8000")


def test_a_remote_handle_puts_token_and_client_on_every_url() -> None:
    server = RemoteServer("http://h:8000", "T", "ada-1")
    assert server.port == 8000 and server.pid is None
    assert server.http_url("/graphql") == "http://h:8000/graphql?join=T&client=ada-1"
    assert server.ws_url("/ws/chat?room=x") == "ws://h:8000/ws/chat?room=x&join=T&client=ada-1"
    assert server.chaos._url("drop") == "http://h:8000/_chaos/drop?join=T&client=ada-1"
    assert client_id("Ada Lovelace!")[:-7] == "Ada-Lovelace"
    assert client_id("x") != client_id("x")
