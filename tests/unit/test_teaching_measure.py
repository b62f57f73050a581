"""The pure parts of notebook 07's measuring helpers: tables, verdicts, break-even arithmetic."""

from __future__ import annotations

import gzip
import os

from rtlab.graphql.links import NetworkError, Operation, Response
from rtlab.teaching.compression import Cost, compare, gzip_cost, pays_below_mbit
from rtlab.teaching.exchanges import Exchange, ExchangeLog, answer_of, carried
from rtlab.teaching.measure import Run, cpu_seconds, table

POST = "query Post($id: ID!) { post(id: $id) { id title } }"
HASH = {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}}


def test_table_lines_up_one_row_per_run_with_its_own_numbers() -> None:
    runs = [Run("one by one", 20, 20, 20, 1, 6151, 3749, 0.9731),
            Run("batched", 20, 2, 2, 2, 2503, 1523, 0.0779)]
    lines = table(runs).splitlines()
    assert len(lines) == 3 and "round trips" in lines[0]
    assert lines[1].split() == ["one", "by", "one", "20", "20", "1", "6151", "3749", "973.1",
                                "ms"]
    assert lines[2].split()[:3] == ["batched", "20", "2"]
    assert len({len(line) for line in lines}) == 1  # columns line up


def test_what_a_request_carries() -> None:
    op = Operation.of(POST, {"id": "1"})
    hashed = Operation(op.document, op.variables, extensions=HASH)
    assert carried(op) == "document"
    assert carried(hashed.with_context(http={"include_query": False})) == "hash"
    assert carried(hashed.with_context(http={"include_query": True})) == "hash + document"


def test_an_answer_in_a_word() -> None:
    assert answer_of(Response(data={"a": 1}), None) == "data"
    assert answer_of(Response(errors=[{"message": "PersistedQueryNotFound"}]), None) == \
        "PersistedQueryNotFound"
    assert answer_of(None, NetworkError("bad request", 400)) == "HTTP 400"
    assert answer_of(None, NetworkError("refused")) == "no answer"


def test_exchange_table_numbers_rows_and_keeps_bytes_out_unless_asked() -> None:
    log = ExchangeLog(http=None)  # type: ignore[arg-type]  # only the rows are used here
    log.rows += [Exchange("GET", "hash", "round trip", "PersistedQueryNotFound", 395, 266),
                 Exchange("GET", "hash", "from the cache", "data", 0, 0)]
    plain = log.table()
    assert plain.splitlines()[0].split() == ["1", "GET", "hash", "round", "trip",
                                             "PersistedQueryNotFound"]
    assert "B up" not in plain
    assert log.table(start=1).startswith(" 2  GET   hash             from the cache")
    assert "(395 B up, 266 B down)" in log.table(with_bytes=True)


def test_compression_pays_below_the_speed_at_which_its_bytes_would_take_its_cpu_time() -> None:
    assert pays_below_mbit(1000, 8.0) == 1000.0  # 8000 bits in 8 µs: 1000 Mbit/s
    assert pays_below_mbit(1000, 0.0) is None and pays_below_mbit(1000, -3.0) is None


def test_compare_reports_bytes_ratio_and_cpu_per_message() -> None:
    off = Cost("WebSocket uncompressed", 100, 400_000, 400_000, 0.05, 0.010, 0.010)
    on = Cost("WebSocket deflate", 100, 25_000, 25_000, 0.07, 0.015, 0.015)
    text = compare(off, on)
    assert "8,000 -> 500 bytes per message (6%)" in text
    assert "CPU per message (client + server) 200 -> 300 µs" in text
    assert "pays on links slower than ~600 Mbit/s" in text  # 7500 B * 8 / 100 µs
    client_only = Cost("HTTP gzip", 10, 1000, 2000, 0.1, 0.001, None)
    assert "(client only)" in compare(off, client_only, "down")
    cheaper = Cost("WebSocket deflate", 100, 25_000, 25_000, 0.07, 0.005, 0.005)
    assert "lost in the noise" in compare(off, cheaper)


def test_gzip_cost_measures_real_gzip_on_the_bytes_given() -> None:
    body = b'{"data":{"posts":[' + b'{"id":"1","title":"Backoff with jitter"},' * 200 + b"]}}"
    packed, pack_us, unpack_us = gzip_cost(body, n=5)
    assert packed == len(gzip.compress(body, compresslevel=6)) < len(body) / 10
    assert pack_us > 0 and unpack_us > 0


def test_cpu_seconds_of_this_process_grows_and_of_no_process_is_none() -> None:
    before = cpu_seconds()
    sum(i * i for i in range(200_000))
    assert cpu_seconds(os.getpid()) > before
    assert cpu_seconds(2**22 + 12345) is None  # above Linux's largest possible pid
