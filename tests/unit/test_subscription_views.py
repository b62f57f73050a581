"""Subscription views read the server's count and each event's fields; the chapter's port
keeps its mistakes (a map printed as a count, a crash in the error branch)."""

from __future__ import annotations

import pytest

from rtlab.chapter import ChapterResult, chat_builder, notification_builder
from rtlab.chapter.subscriptions import ChapterException
from rtlab.state import FRAME_IN, STATE, ConnectionState, Timeline
from rtlab.widgets import ChatRoomView, NotificationList, PresenceCount


def presence(user: str, status: str, online: int, connections: int) -> dict:
    return {"userPresenceUpdated": {"userId": user, "status": status, "onlineCount": online,
                                    "connectionCount": connections}}


def test_presence_count_is_the_servers_count_not_one_event() -> None:
    timeline = Timeline()
    view = PresenceCount(timeline)
    assert view.online is None and "not known" in view.text()
    timeline.record(STATE, state=ConnectionState.CONNECTING)
    timeline.record(FRAME_IN, data=presence("1", "ONLINE", 1, 1))
    timeline.record(FRAME_IN, data=presence("2", "ONLINE", 2, 3))
    timeline.record(FRAME_IN, data=presence("1", "OFFLINE", 1, 2))
    view.count.flush_now()
    assert view.online == 1
    assert view.text().endswith("1 users online, 2 connections (last: 1 OFFLINE)")
    view.close()
    assert timeline.listener_count == 0


def test_feeds_format_each_event_and_errors() -> None:
    timeline = Timeline()
    chat = ChatRoomView(timeline, room="general")
    notes = NotificationList(timeline)
    message = {"content": "hi", "sender": {"name": "Bob"}}
    timeline.record(FRAME_IN, data={"messageReceived": message})
    timeline.record(FRAME_IN, data={"notificationReceived": {"type": "MENTION", "message": "m"}})
    timeline.record(FRAME_IN, data={"errors": [{"message": "boom"}]})
    chat.messages.flush_now()
    notes.messages.flush_now()
    assert "Bob: hi" in chat.text() and "error: boom" in chat.text()
    assert "MENTION: m" in notes.text()
    assert chat.count == 3 and "#general" in chat.text()


def test_chapter_builders_keep_their_mistakes() -> None:
    fresh = ChapterResult(is_loading=True)
    assert chat_builder(fresh).startswith("MessageList")  # never "connected"
    network = ChapterResult(False, exception=ChapterException(link_exception="socket closed"))
    with pytest.raises(IndexError):
        chat_builder(network)
    shown: list = []
    data = ChapterResult(False, {"notificationReceived": {"id": "1"}})
    for _ in range(2):
        notification_builder(data, shown)
    assert len(shown) == 2
