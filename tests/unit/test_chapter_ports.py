"""The chapter ports cite the seed line of every mistake they keep, and the pure parts
behave as the Dart code does (the live parts: tests/integration/test_chapter_*.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rtlab.chapter import (
    graphql_config,
    graphql_operations,
    socketio_service,
    sse_parser,
    subscriptions,
    websocket_service,
)
from rtlab.chapter.graphql_config import ChapterHive, HiveError, cache_over
from rtlab.chapter.graphql_operations import (
    CACHE_FIRST_POLLING,
    CacheFirstPollingError,
    ChapterUserProfile,
    refuse_cache_first_poll,
)
from rtlab.graphql import GraphQLClient, HttpLink, NormalizedCache

PORTS = [graphql_config, graphql_operations, subscriptions, websocket_service,
         socketio_service, sse_parser]
ITEM = re.compile(r"^\s*(\d+)\. (.+?)(?=^\s*\d+\. |\Z)", re.S | re.M)
LINE = re.compile(r"l\.(\d+)(?:-(\d+))?")

#: (port, a line it cites, text that line of the seed holds)
CITED = [
    (websocket_service, 936, "pingInterval: heartbeatInterval"),
    (websocket_service, 947, "_updateState(ConnectionState.connected)"),
    (websocket_service, 1029, "if (!_isDisposed) connect();"),
    (websocket_service, 1045, "if (isConnected)"),
    (websocket_service, 1064, "_heartbeatTimer?.cancel();"),
    (graphql_config, 60, "HiveStore.open()"),
    (graphql_config, 204, "return true;"),
    (graphql_config, 227, "GraphQLConfig().getClient()"),
    (graphql_config, 173, "'Authorization': 'Bearer $token'"),
    (graphql_operations, 301, "fetchPolicy: FetchPolicy.cacheFirst"),
    (graphql_operations, 302, "pollInterval: Duration(minutes: 5)"),
    (graphql_operations, 335, "'offset': 10"),
    (subscriptions, 591, "reconnectOnConnectionLost: true"),
    (subscriptions, 699, "graphqlErrors.first.message"),
    (subscriptions, 814, "client.subscribe(notificationRequest)"),
    (socketio_service, 1182, "setTransports(['websocket', 'polling'])"),
    (socketio_service, 1261, "_socket?.off(event);"),
    (socketio_service, 1356, "_socket.onConnect("),
    (sse_parser, 1486, "buffer.contains('\\n\\n')"),
    (sse_parser, 1564, "_shouldReconnect = false;"),
]


def seed_lines() -> list[str] | None:
    for parent in Path(__file__).resolve().parents:
        chapters = sorted((parent / "shared" / "seed").glob("*.txt"))
        if chapters:
            return chapters[0].read_text(encoding="utf-8").splitlines()
    return None


def mistakes(module) -> list[tuple[int, str]]:
    return [(int(n), text) for n, text in ITEM.findall(module.__doc__ or "")]


@pytest.mark.parametrize("module", PORTS, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_every_ported_mistake_names_its_seed_line(module) -> None:
    items = mistakes(module)
    assert len(items) >= 4, f"{module.__name__}: no numbered mistakes in its docstring"
    uncited = [n for n, text in items if not LINE.search(text)]
    assert not uncited, f"{module.__name__}: mistakes {uncited} cite no seed line (l.N)"
    cited = [int(m.group(1)) for m in LINE.finditer(module.__doc__)]
    assert all(1 <= n <= 1738 for n in cited)


@pytest.mark.parametrize("module,line,text", CITED,
                         ids=[f"{m.__name__.rsplit('.', 1)[1]}-l{n}" for m, n, _ in CITED])
def test_cited_lines_hold_what_the_docstring_says(module, line, text) -> None:
    spans = [(int(a), int(b or a)) for a, b in LINE.findall(module.__doc__)]
    assert any(a <= line <= b for a, b in spans), f"{module.__name__} does not cite l.{line}"
    seed = seed_lines()
    if seed is None:
        pytest.skip("the syllabus (shared/seed) is not beside this checkout")
    assert text in seed[line - 1], f"seed line {line}: {seed[line - 1]!r}"


def test_hive_must_be_initialised_and_open_hands_back_the_open_box() -> None:
    hive = ChapterHive()
    with pytest.raises(HiveError, match="You need to initialize Hive"):
        hive.open_box()
    hive.init_for_flutter()
    box = hive.open_box()
    assert hive.open_box() is box and hive.opens == 2


def test_a_cache_over_the_box_writes_back_and_a_new_one_reads_it() -> None:
    box: dict = {}
    first = cache_over(box)
    first.write_query("query { user(id: \"1\") { id name } }", None,
                      {"user": {"__typename": "User", "id": "1", "name": "Ada"}})
    assert box["User:1"]["name"] == "Ada"
    second = cache_over(box)  # what a rebuilt client gets: not an empty cache
    assert second.read_query("query { user(id: \"1\") { id name } }")["user"]["name"] == "Ada"


def test_the_chapters_websocket_delays_and_no_queue_bound() -> None:
    service = websocket_service.ChapterWebSocketService("ws://127.0.0.1:9/")
    assert [service.delay_for(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    for n in range(500):
        service.send({"n": n})  # offline: queued, no bound
    assert len(service.queue) == 500


@pytest.mark.parametrize("policy", ["cache-first", "cache-only"])
def test_graphql_flutter_refuses_a_poll_on_cache_first_and_cache_only(policy) -> None:
    with pytest.raises(CacheFirstPollingError) as refused:
        refuse_cache_first_poll(policy, 300.0)
    assert str(refused.value) == CACHE_FIRST_POLLING
    assert "cacheFirst and cacheOnly" in CACHE_FIRST_POLLING  # graphql_flutter's words


@pytest.mark.parametrize("policy,interval", [
    ("cache-and-network", 300.0), ("network-only", 300.0), ("no-cache", 300.0),
    ("cache-first", None), ("cache-first", 0),  # no interval above zero: no poll to refuse
])
def test_every_other_poll_and_no_poll_at_all_pass(policy, interval) -> None:
    refuse_cache_first_poll(policy, interval)


async def test_the_chapters_profile_widget_does_not_build_and_sends_nothing() -> None:
    client = GraphQLClient(HttpLink("http://127.0.0.1:9/graphql"), NormalizedCache())
    try:
        with pytest.raises(CacheFirstPollingError, match="cannot also be polling queries"):
            ChapterUserProfile(client, "1")  # cacheFirst + Duration(minutes: 5), as written
        assert client.network_calls == 0 and not client._queries
    finally:
        await client.close()
