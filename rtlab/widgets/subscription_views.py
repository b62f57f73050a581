"""Views of live GraphQL subscriptions: a notification list, a chat room, a presence count.

Each is a status pill (the subscription's own state: ``connected`` only once its
``subscribe`` is on an acknowledged connection, ``reconnecting`` while the link is down)
above what the subscription delivered. They follow the subscription's timeline, whether
it is a :class:`rtlab.graphql.ws.Subscription` or a
:class:`rtlab.graphql.client.ClientSubscription`; they never drive it. The chapter's
widgets guess "connected" from the absence of data; these never guess.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from rtlab.state import FRAME_IN, Event

from .base import TextFallback, TimelineHTML
from .messages import MessageList, short
from .pill import StatusPill
from .svg import esc


def _field(data: Any, name: str) -> Any:
    """The root field's value of one event (``data[name]``), or the event itself."""
    if isinstance(data, dict) and "errors" in data and name not in data:
        return None
    return data.get(name) if isinstance(data, dict) else None


def _errors(data: Any) -> str | None:
    if isinstance(data, dict) and data.get("errors"):
        return "error: " + "; ".join(str(e.get("message", e)) for e in data["errors"])
    return None


def notification_line(data: Any) -> str:
    note = _field(data, "notificationReceived")
    if note is None:
        return _errors(data) or short(data)
    return f"{note.get('type', '?')}: {note.get('message', '')}"


def chat_line(data: Any) -> str:
    message = _field(data, "messageReceived")
    if message is None:
        return _errors(data) or short(data)
    sender = (message.get("sender") or {}).get("name", "?")
    return f"{sender}: {message.get('content', '')}"


class SubscriptionFeed(TextFallback, widgets.VBox):
    """A pill and a message list for one subscription (``format`` turns an event into a line)."""

    css_class = "rtlab-subscriptionfeed"

    def __init__(self, subscription: Any, *, label: str = "", title: str = "events",
                 format: Any = short, maxlen: int = 50) -> None:
        self.pill = StatusPill(subscription, label=label)
        self.messages = MessageList(subscription, maxlen=maxlen, title=title, format=format)
        super().__init__([self.pill, self.messages])
        self.add_class(self.css_class)

    @property
    def count(self) -> int:
        return self.messages.count

    def text(self) -> str:
        return f"{self.pill.text()}\n{self.messages.text(limit=10)}"

    def close(self) -> None:
        self.pill.close()
        self.messages.close()
        super().close()


class NotificationList(SubscriptionFeed):
    """``notificationReceived`` events as ``TYPE: message`` lines."""

    css_class = "rtlab-notificationlist"

    def __init__(self, subscription: Any, *, label: str = "notifications",
                 maxlen: int = 50) -> None:
        super().__init__(subscription, label=label, title="notifications",
                         format=notification_line, maxlen=maxlen)


class ChatRoomView(SubscriptionFeed):
    """``messageReceived(chatRoomId)`` events as ``sender: content`` lines."""

    css_class = "rtlab-chatroomview"

    def __init__(self, subscription: Any, room: str = "", *, maxlen: int = 50) -> None:
        room = room or str(getattr(subscription, "variables", {}).get("chatRoomId", ""))
        super().__init__(subscription, label=f"#{room}", title=f"#{room}", format=chat_line,
                         maxlen=maxlen)


class _OnlineCount(TimelineHTML):
    css_class = "rtlab-presencecount-body"

    def __init__(self, subscription: Any) -> None:
        super().__init__(subscription, (FRAME_IN,))
        self.online: int | None = None
        self.connections: int | None = None
        self.last: dict[str, Any] | None = None
        self.events = 0
        self._start()

    def _apply(self, item: Event) -> None:
        event = _field(item.data, "userPresenceUpdated")
        if isinstance(event, dict):
            self.events += 1
            self.last = event
            self.online = event.get("onlineCount", self.online)
            self.connections = event.get("connectionCount", self.connections)

    def line(self) -> str:
        if self.online is None:
            return "online: not known until the first presence event"
        last = f" (last: {self.last.get('userId')} {self.last.get('status')})" if self.last else ""
        return f"{self.online} users online, {self.connections} connections{last}"

    def _html(self) -> str:
        return (f'<span data-online="{self.online if self.online is not None else ""}" '
                f'style="font:13px system-ui,sans-serif">{esc(self.line())}</span>')

    def text(self) -> str:
        return self.line()


class PresenceCount(TextFallback, widgets.HBox):
    """``userPresenceUpdated``: the server's own ``onlineCount``, never one event taken for a
    count (the chapter prints ``$onlineUsers users online`` with a single event's map)."""

    css_class = "rtlab-presencecount"

    def __init__(self, subscription: Any, *, label: str = "presence") -> None:
        self.pill = StatusPill(subscription, label=label)
        self.count = _OnlineCount(subscription)
        super().__init__([self.pill, self.count])
        self.add_class(self.css_class)

    @property
    def online(self) -> int | None:
        return self.count.online

    def text(self) -> str:
        return f"{self.pill.text()} {self.count.text()}"

    def close(self) -> None:
        self.pill.close()
        self.count.close()
        super().close()


__all__ = ["ChatRoomView", "NotificationList", "PresenceCount", "SubscriptionFeed", "chat_line",
           "notification_line"]
