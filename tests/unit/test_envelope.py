"""Typed envelopes: strict where it matters, tolerant where the chapter crashes."""

import json
from datetime import UTC, datetime

import pytest

from rtlab.envelope import Envelope, EnvelopeError


def test_round_trip_keeps_every_field() -> None:
    env = Envelope("chat", {"text": "hi"}, id="abc", timestamp=datetime(2026, 1, 2, tzinfo=UTC))
    assert Envelope.from_json(env.to_json()) == env


def test_ids_are_generated_and_unique() -> None:
    assert len({Envelope("x").id for _ in range(1000)}) == 1000


def test_missing_timestamp_is_none_not_a_crash() -> None:
    env = Envelope.from_json('{"type": "pong"}')
    assert env.timestamp is None and env.id == ""


def test_epoch_and_zulu_timestamps_are_read() -> None:
    assert Envelope.from_dict({"type": "t", "timestamp": 0}).timestamp == datetime(
        1970, 1, 1, tzinfo=UTC
    )
    zulu = Envelope.from_dict({"type": "t", "timestamp": "2026-11-25T10:00:00Z"})
    assert zulu.timestamp == datetime(2026, 11, 25, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"payload": 1}', "'type'"),
        ('{"type": 3}', "'type'"),
        ('{"type": "x", "timestamp": "yesterday"}', "ISO-8601"),
        ('{"type": "x", "id": [1]}', "'id'"),
    ],
)
def test_bad_frames_say_what_is_wrong(frame: str, words: str) -> None:
    with pytest.raises(EnvelopeError, match=words):
        Envelope.from_json(frame)


def test_to_json_is_compact_json() -> None:
    assert json.loads(Envelope("a", 1, id="i").to_json())["payload"] == 1
