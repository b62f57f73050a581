"""The chapter's 21.2 subscription widgets (Dart, graphql_flutter), ported with their mistakes.

Flutter's builders become functions of a :class:`ChapterResult` (what graphql_flutter's
``Subscription`` widget hands its ``builder``: ``isLoading``, ``hasException``, ``data``),
returning what they would draw, as text. :meth:`ChapterResult.of` builds that result from a
live rtlab subscription the way graphql_flutter does: loading until the first event, the
last event's data kept afterwards, a dropped socket invisible while it reconnects.

Mistakes kept, each shown live in notebook 03's Pitfalls:

1. ``ChatMessageSubscription`` infers "connected" from the *absence* of data
   (``!isLoading && !hasException && data == null``). graphql_flutter reports a subscription
   as loading until its first event, and keeps the last data afterwards, so that branch
   is never taken: before the first message nothing says anything, after it a dead link
   looks exactly like a live one.
2. Its error branch reads ``exception.graphqlErrors.first.message``: a network or auth
   failure has no GraphQL errors, and ``.first`` on an empty list throws (``IndexError``
   here) inside the very code meant to show the error.
3. Its "Reconnect" button's ``onPressed`` is empty, and ``ConnectionStatus`` has no
   ``reconnecting`` or ``disconnected``: a link that is retrying cannot be shown at all.
4. ``MultiSubscriptionManager`` prints ``'$onlineUsers users online'`` where
   ``onlineUsers`` is one ``userPresenceUpdated`` event (a map: who connected or left) or
   ``[]``, not a count; and ``hasNotification`` turns the "New!" banner on forever.
5. It opens its streams in ``didChangeDependencies``, which Flutter calls again whenever an
   inherited widget changes, and never cancels them (no ``dispose``): every call adds two
   more subscriptions to the socket, and each presence event is then delivered twice.
6. ``NotificationSubscription`` shows its snack bar from inside ``builder`` (a post-frame
   callback), so every rebuild with the same data shows the same notification again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rtlab.state import FRAME_IN, ConnectionState


@dataclass
class ChapterException:
    """graphql_flutter's ``OperationException``: a link exception and/or GraphQL errors."""

    link_exception: str | None = None
    graphql_errors: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return self.link_exception or "; ".join(e.get("message", "") for e in self.graphql_errors)


@dataclass
class ChapterResult:
    """What the chapter's builders receive."""

    is_loading: bool
    data: dict[str, Any] | None = None
    exception: ChapterException | None = None

    @property
    def has_exception(self) -> bool:
        return self.exception is not None

    @classmethod
    def of(cls, subscription: Any) -> ChapterResult:
        """The result graphql_flutter would hand the builder right now for ``subscription``."""
        events = [e.data for e in subscription.timeline.of_kind(FRAME_IN)]
        last = events[-1] if events else None
        if isinstance(last, dict) and "errors" in last:
            return cls(False, None, ChapterException(graphql_errors=list(last["errors"])))
        if subscription.state is ConnectionState.ERROR:
            error = getattr(getattr(subscription, "inner", subscription), "error", None)
            return cls(False, last, ChapterException(link_exception=str(error)))
        return cls(is_loading=last is None, data=last)


def chat_builder(result: ChapterResult) -> str:
    """``ChatMessageSubscription.build``'s branches, as the text of what it draws."""
    if not result.is_loading and not result.has_exception and result.data is None:
        return "ConnectionStatusIndicator(connected): Live"
    if result.has_exception:
        message = result.exception.graphql_errors[0]["message"]  # Dart: graphqlErrors.first
        return f"ConnectionStatusIndicator(error): {message} + a Reconnect button that does nothing"
    message = (result.data or {}).get("messageReceived")
    return f"MessageList(newMessage: {message!r})"


def notification_builder(result: ChapterResult, shown: list[Any]) -> str:
    """``NotificationSubscription``'s builder; appends to ``shown`` what it pops up."""
    if result.is_loading:
        return "ConnectionStatusIndicator(connecting): Connecting..."
    if result.has_exception:
        return f"ConnectionStatusIndicator(error): {result.exception}"
    if result.data is not None:
        shown.append(result.data["notificationReceived"])  # a snack bar, on every build
    return "SizedBox.shrink()"


class ChapterMultiSubscriptionManager:
    """``MultiSubscriptionManager``: two streams per ``did_change_dependencies``, never closed."""

    def __init__(self, link: Any) -> None:
        from rtlab.graphql.links import Operation

        self._operation = Operation
        self.link = link
        self.notification_stream: Any = None
        self.presence_stream: Any = None
        self.opened: list[Any] = []

    def did_change_dependencies(self) -> None:
        """Called by Flutter on first build and whenever an inherited widget changes."""
        self.notification_stream = self.link.subscribe(
            self._operation.of("subscription { notificationReceived { id message } }"))
        self.presence_stream = self.link.subscribe(
            self._operation.of("subscription { userPresenceUpdated { userId status } }"))
        self.opened += [self.notification_stream, self.presence_stream]

    def build(self) -> str:
        notifications = [e.data for e in self.notification_stream.timeline.of_kind(FRAME_IN)]
        presence = [e.data for e in self.presence_stream.timeline.of_kind(FRAME_IN)]
        has_notification = bool(notifications)
        online_users = presence[-1]["userPresenceUpdated"] if presence else []
        banner = "[New!] " if has_notification else ""
        return f"{banner}{online_users} users online"


__all__ = ["ChapterException", "ChapterMultiSubscriptionManager", "ChapterResult",
           "chat_builder", "notification_builder"]
