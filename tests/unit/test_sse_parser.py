"""The event-stream parser against the WHATWG text (HTML §9.2.5 and §9.2.6), rule by rule.

Each test quotes (in its name or comment) the rule it checks; the streams are written here,
by hand, from the spec's wording.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlab.sse.parser import (
    EventDataError,
    EventStreamParser,
    MessageEvent,
    StreamTooLong,
    parse,
)


def ev(data: str, type: str = "message", id: str = "") -> MessageEvent:
    return MessageEvent(type, data, id)


# -- lines: "CRLF, a single LF, or a single CR" ---------------------------------------------


@pytest.mark.parametrize("eol", [b"\r\n", b"\n", b"\r"])
def test_every_line_ending_ends_lines(eol: bytes) -> None:
    stream = b"data: a" + eol + b"data: b" + eol + eol + b"data: c" + eol + eol
    assert parse(stream) == [ev("a\nb"), ev("c")]


def test_mixed_line_endings_in_one_stream() -> None:
    assert parse(b"data: a\r\ndata: b\rdata: c\n\r\n") == [ev("a\nb\nc")]


def test_cr_then_crlf_is_two_line_ends() -> None:
    # "\r" ends a line; the "\r\n" after it ends another one: a blank line, so dispatch.
    assert parse(b"data: x\r\r\n") == [ev("x")]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    p = EventStreamParser()
    assert p.feed(b"data: 1\r") == []
    assert p.feed(b"\n") == []  # the partner of the CR, not a blank line
    assert p.feed(b"\r\n") == [ev("1")]


def test_lone_cr_at_chunk_end_then_data_is_a_line_end() -> None:
    p = EventStreamParser()
    assert p.feed(b"data: 1\r") == []
    assert p.feed(b"\rdata: 2\n\n") == [ev("1"), ev("2")]


# -- decoding: UTF-8, one BOM ignored --------------------------------------------------------


def test_one_leading_bom_is_ignored() -> None:
    assert parse(b"\xef\xbb\xbfdata: a\n\n") == [ev("a")]


def test_a_second_bom_is_part_of_the_field_name() -> None:
    # Only one leading BOM is dropped: the next makes the name "\ufeffdata", an unknown field.
    assert parse(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n") == [ev("b")]


def test_bom_split_across_chunks() -> None:
    p = EventStreamParser()
    assert p.feed(b"\xef") == [] and p.feed(b"\xbb") == []
    assert p.feed(b"\xbfdata: a\n\n") == [ev("a")]


def test_bom_later_in_the_stream_is_not_special() -> None:
    assert parse(b"data: a\n\n\xef\xbb\xbfdata: b\n\n") == [ev("a")]


def test_utf8_split_inside_a_character_and_invalid_bytes_replaced() -> None:
    p = EventStreamParser()
    snow = "☃".encode()
    assert p.feed(b"data: " + snow[:1]) == []
    assert p.feed(snow[1:] + b"\xff\n\n") == [ev("☃\ufffd")]


# -- fields ------------------------------------------------------------------------------------


def test_comment_lines_are_ignored() -> None:
    assert parse(b": keep-alive\n:\ndata: a\n: between\n\n") == [ev("a")]


def test_exactly_one_space_after_the_colon_is_removed() -> None:
    assert parse(b"data:a\n\ndata: a\n\ndata:  a \n\n") == [ev("a"), ev("a"), ev(" a ")]


def test_a_line_without_colon_is_a_field_with_empty_value() -> None:
    # "data" alone appends "" + LF: two data lines "x" and "" give "x\n".
    assert parse(b"data: x\ndata\n\n") == [ev("x\n")]


def test_only_the_first_colon_splits() -> None:
    assert parse(b"data: a: b:c\n\n") == [ev("a: b:c")]


def test_field_names_are_case_sensitive_and_unknown_ones_ignored() -> None:
    assert parse(b"Data: no\nDATA: no\nfoo: bar\ndata: yes\n\n") == [ev("yes")]


def test_event_sets_the_type_and_is_reset_after_dispatch() -> None:
    assert parse(b"event: add\ndata: 1\n\ndata: 2\n\n") == [ev("1", "add"), ev("2")]


def test_empty_event_type_means_message() -> None:
    assert parse(b"event:\ndata: 1\n\n") == [ev("1")]


def test_last_data_line_feed_removed_only_once() -> None:
    assert parse(b"data\ndata\n\n") == [ev("\n")]


# -- dispatch ----------------------------------------------------------------------------------


def test_no_event_without_data() -> None:
    # "If the data buffer is an empty string, set the data buffer and the event type buffer
    # to the empty string and return."
    assert parse(b"event: x\n\nid: 1\n\nretry: 5\n\n: c\n\n\n\n") == []


def test_event_type_of_an_undispatched_block_does_not_leak() -> None:
    assert parse(b"event: x\n\ndata: a\n\n") == [ev("a")]


def test_unfinished_event_at_end_of_stream_is_discarded() -> None:
    p = EventStreamParser()
    assert p.feed(b"data: a\n\ndata: b\n") == [ev("a")]
    assert p.pending
    p.close()
    assert not p.pending
    assert p.feed(b"\n") == []  # the discarded "b" is gone for good


# -- id ----------------------------------------------------------------------------------------


def test_last_event_id_persists_across_events() -> None:
    events = parse(b"id: 7\ndata: a\n\ndata: b\n\nid: 8\ndata: c\n\n")
    assert [e.id for e in events] == ["7", "7", "8"]


def test_empty_id_resets_the_last_event_id() -> None:
    assert [e.id for e in parse(b"id: 7\ndata: a\n\nid\ndata: b\n\n")] == ["7", ""]


def test_id_containing_nul_is_ignored() -> None:
    assert [e.id for e in parse(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")] == ["1", "1"]


def test_id_only_block_moves_the_last_event_id_without_an_event() -> None:
    p = EventStreamParser()
    assert p.feed(b"id: 41\n\n") == []
    assert p.last_event_id == "41"
    assert p.feed(b"data: x\n\n") == [ev("x", id="41")]


def test_last_event_id_moves_only_when_the_block_is_finished() -> None:
    # A stream cut after "id: 2" has not delivered event 2: resuming must ask for it again.
    p = EventStreamParser()
    p.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n")
    assert p.last_event_id == "1"


def test_seeded_last_event_id_is_carried_by_events_without_id() -> None:
    assert parse(b"data: a\n\n", last_event_id="99") == [ev("a", id="99")]


# -- retry -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (b"1500", 1500),
        (b"0", 0),
        (b" 1500", 1500),  # the one space after the colon is removed first
        (b"  1500", None),  # a second space is part of the value: not all digits
        (b"15.5", None),
        (b"-1", None),
        (b"+1", None),
        (b"1e3", None),
        (b"0x10", None),
        (b"", None),
        ("١٥".encode(), None),  # Arabic-Indic digits are digits, but not ASCII digits
    ],
)
def test_retry_only_when_all_ascii_digits(value: bytes, expected: int | None) -> None:
    p = EventStreamParser()
    p.feed(b"retry:" + value + b"\n\n")
    assert p.retry == expected


def test_retry_applies_immediately_and_is_not_an_event() -> None:
    p = EventStreamParser()
    assert p.feed(b"retry: 10\n") == []
    assert p.retry == 10


# -- bounds and helpers --------------------------------------------------------------------------


def test_max_size_bounds_an_endless_line() -> None:
    p = EventStreamParser(max_size=100)
    p.feed(b"data: " + b"x" * 50)
    with pytest.raises(StreamTooLong, match="max_size=100"):
        p.feed(b"x" * 60)


def test_max_size_bounds_an_endless_event() -> None:
    p = EventStreamParser(max_size=100)
    with pytest.raises(StreamTooLong, match="event data"):
        p.feed(b"data: xxxxxxxxxx\n" * 20)


def test_json_helper_parses_or_names_the_bad_event() -> None:
    assert parse(b'id: 3\ndata: {"a": [1]}\n\n')[0].json() == {"a": [1]}
    with pytest.raises(EventDataError, match=r"'news' event \(id '4'\)"):
        parse(b"id: 4\nevent: news\ndata: {oops\n\n")[0].json()


def test_counts_bytes_and_lines() -> None:
    p = EventStreamParser()
    p.feed(b"data: a\n\n")
    assert (p.bytes_fed, p.lines) == (9, 2)


# -- any chunking gives the same events ---------------------------------------------------------

_LINES = st.sampled_from(
    [b"data: a", b"data:b", b"data", b"data:  c ", b"event: e", b"event", b"id: 1", b"id: 2\x00",
     b"id", b"retry: 30", b"retry: x", b": comment", b":", b"", b"", b"", b"other: z",
     "data: ☃ é".encode(), b"\xef\xbb\xbfdata: bom", b"data: \xff"]
)
_EOLS = st.sampled_from([b"\n", b"\r", b"\r\n"])


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(_LINES, _EOLS), max_size=40))
    bom = draw(st.booleans())
    tail = draw(st.sampled_from([b"", b"data: unfinished", b"\r"]))
    return (b"\xef\xbb\xbf" if bom else b"") + b"".join(a + b for a, b in lines) + tail


def _chunked(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(stream) + 1) for c in cuts})
    edges = [0, *points, len(stream)]
    return [stream[a:b] for a, b in zip(edges, edges[1:], strict=False)]


@settings(max_examples=400, deadline=None)
@given(streams(), st.lists(st.integers(min_value=0, max_value=10_000), max_size=30))
def test_any_chunking_gives_the_same_events(stream: bytes, cuts: list[int]) -> None:
    whole = EventStreamParser()
    expected = whole.feed(stream)
    chunked = EventStreamParser()
    got: list[MessageEvent] = []
    for chunk in _chunked(stream, cuts):
        got += chunked.feed(chunk)
    assert got == expected
    assert (chunked.last_event_id, chunked.retry) == (whole.last_event_id, whole.retry)


@settings(max_examples=200, deadline=None)
@given(streams())
def test_byte_by_byte_gives_the_same_events(stream: bytes) -> None:
    p = EventStreamParser()
    got = [e for i in range(len(stream)) for e in p.feed(stream[i : i + 1])]
    assert got == parse(stream)
