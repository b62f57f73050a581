"""The servers' pure input guards: bounded JSON, strict query numbers, legal close reasons,
Socket.IO event checks and the one-line log filter."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servers import badinput, closereason, params, safejson
from servers.sioguard import event_problem

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=3),
    max_leaves=30,
)


def nesting(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    return 0


@given(json_values)
def test_depth_of_json_text_is_the_nesting_of_the_value(value) -> None:
    assert safejson.depth(json.dumps(value)) == nesting(value)


@given(st.text(alphabet='[]{}"\\ab', max_size=30))
def test_brackets_inside_strings_never_count(text) -> None:
    assert safejson.depth(json.dumps([text])) == 1


@pytest.mark.parametrize(("text", "words"), [
    ("[" * 33 + "]" * 33, "deeper than 32"),
    ('{"a":' * 100_000 + "1" + "}" * 100_000, "deeper than 32"),
    ("[NaN]", "NaN is not a JSON number"),
    ('{"ms": -Infinity}', "-Infinity is not a JSON number"),
    ("1e999", "out of range"),
    ("9" * 5000, "digits"),
    (b"\xff\xfe\x00", "not UTF-8"),
    ('{"a": 1', "invalid JSON"),
])
def test_loads_refuses_with_one_clear_json_error(text, words) -> None:
    with pytest.raises(safejson.JSONError, match=words) as info:
        safejson.loads(text)
    assert isinstance(info.value, json.JSONDecodeError)  # caught where libraries catch JSON


def test_loads_takes_what_json_takes_within_the_bounds() -> None:
    text = "[" * 31 + '{"s": "\\ud800", "n": 1.5e300}' + "]" * 31  # 32 levels
    assert safejson.loads(text.encode())  # bytes too
    assert safejson.loads('"\\ud83d\\ude00"') == "😀"


def test_encode_survives_a_lone_surrogate() -> None:
    assert json.loads(safejson.encode({"m": "bad \ud800", "ok": "é"})) == {
        "m": "bad \ud800", "ok": "é"}
    assert safejson.encode({"ok": "é"}) == '{"ok":"é"}'.encode()  # UTF-8 when it can


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf", "1e309", " 1", "1_0", "٣", "+1",
                                 "0x10", "", "1e", "--1", "1" * 19])
def test_query_numbers_refuse_what_float_and_int_would_take(raw) -> None:
    with pytest.raises(params.BadParam, match="timeout"):
        params.number("timeout", raw, 0, 30)


def test_query_numbers_check_the_range_and_take_plain_decimals() -> None:
    assert params.number("t", "0.5", 0, 30) == 0.5
    assert params.number("t", "1e1", 0, 30) == 10.0
    assert params.number("n", "0", 1, 5, zero_ok=True) == 0.0
    assert params.number("n", "7", 0, 10, integer=True) == 7
    with pytest.raises(params.BadParam, match="from 0 to 30"):
        params.number("t", "31", 0, 30)
    with pytest.raises(params.BadParam, match="an integer"):
        params.number("n", "1.5", 0, 10, integer=True)


@given(st.text())
def test_close_reasons_are_always_legal_utf8_of_at_most_123_bytes(reason) -> None:
    legal = closereason.legal(reason)
    assert len(legal.encode("utf-8")) <= closereason.MAX_BYTES


def test_close_reasons_keep_short_ones_and_mark_cut_ones() -> None:
    assert closereason.legal("Forbidden: token expired") == "Forbidden: token expired"
    cut = closereason.legal("Unknown message type: " + "é" * 200)
    assert cut.startswith("Unknown message type: é") and cut.endswith("…")
    assert "\ud800" not in closereason.legal("type \ud800")


@pytest.mark.parametrize(("data", "words"), [
    (["connect", {}], "reserved"), (["disconnect"], "reserved"), (["*", "x"], "reserved"),
    (["newListener"], "reserved"), ([], "array"), ({"a": 1}, "array"), (None, "array"),
    ([["echo"]], "string"), ([5, "x"], "string"),
])
def test_socketio_events_that_must_not_reach_a_handler(data, words) -> None:
    assert words in event_problem(data)


def test_socketio_ordinary_events_pass() -> None:
    assert event_problem(["echo", {"n": 1}]) is None
    assert event_problem(["message"]) is None


def _record(msg: str, exc: BaseException | None) -> logging.LogRecord:
    info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord("x", logging.ERROR, __file__, 1, msg, (), info)


def test_library_tracebacks_for_bad_input_become_one_warning_line() -> None:
    record = _record("post request handler error", ValueError("invalid literal for int()"))
    assert badinput.OneLine().filter(record)
    assert record.exc_info is None and record.levelname == "WARNING"
    assert record.getMessage() == ("bad input: post request handler error ValueError: "
                                   "invalid literal for int()")


def test_other_tracebacks_stay_whole() -> None:
    failure = _record("Exception in ASGI application", ZeroDivisionError("division by zero"))
    assert badinput.OneLine().filter(failure) and failure.exc_info is not None
    only_utf8 = badinput.OneLine(("Invalid UTF-8 sequence received from client.",))
    app_error = _record("Exception in ASGI application", KeyError("user"))
    assert only_utf8.filter(app_error) and app_error.exc_info is not None  # an app bug
    utf8 = _record("Invalid UTF-8 sequence received from client.",
                   UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"))
    assert only_utf8.filter(utf8) and utf8.exc_info is None
