"""The chapter's 21.2 subscription widgets (Dart, graphql_flutter; seed l.561-846), ported.

Flutter's builders become functions of a :class:`ChapterResult` (what graphql_flutter's
``Subscription`` widget hands its ``builder``: ``isLoading``, ``hasException``, ``data``),
returning what they would draw, as text. :meth:`ChapterResult.of` builds that result from a
live rtlab subscription the way graphql_flutter does: loading until the first event, the
last event's data kept afterwards, a dropped socket invisible while it reconnects.

Mistakes kept, each shown live in notebook 03's Pitfalls, with the seed line:

1. ``ChatMessageSubscription`` infers "connected" from the *absence* of data
   (``!result.isLoading && !result.hasException && result.data == null``, l.689).
   graphql_flutter reports a subscription as loading until its first event and keeps the
   last data afterwards, so that branch is never taken: before the first message nothing
   says anything, after it a dead link looks exactly like a live one.
2. Its error branch reads ``result.exception?.graphqlErrors.first.message`` (l.699): a
   network or auth failure has no GraphQL errors, and ``.first`` on an empty list throws
   (``IndexError`` here) inside the very code meant to show the error.
3. Its "Reconnect" button's ``onPressed`` is empty (l.702-705), and ``ConnectionStatus``
   (l.723) has no ``reconnecting``: a link that is retrying cannot be shown at all.
4. ``MultiSubscriptionManager`` prints ``'$onlineUsers users online'`` (l.838) where
   ``onlineUsers`` is one ``userPresenceUpdated`` event (l.828: a map saying who connected or
   left) or ``[]``, not a count; and ``hasNotification`` (l.827) turns the "New!" banner on
   for good.
5. It creates its streams in ``didChangeDependencies`` (l.794-816), which Flutter calls again
   whenever an inherited widget it depends on changes. The streams are lazy (graphql_flutter's
   ``QueryManager.subscribe`` is an ``async*`` generator; ``SocketClient.subscribe`` sends
   ``subscribe`` in ``onListen``), and ``StreamBuilder.didUpdateWidget`` cancels the old
   subscription (``complete`` on the wire) before listening to the new one. So nothing piles
   up: each dependency change tears every subscription down and subscribes again, with a gap
   in which events are lost, and the snapshot back in ``waiting`` (its last data kept). No
   ``dispose`` either, but the StreamBuilders cancel on unmount.
   (As written, ``client.subscribe(Operation(...))``, l.814-815, does not type-check:
   ``GraphQLClient.subscribe`` takes ``SubscriptionOptions``.)
6. ``NotificationSubscription`` shows its snack bar from inside ``builder`` (a post-frame
   callback, l.613-615), so every rebuild with the same data shows the same notification
   again.

Not ported, because it does not exist: ``SubscriptionOptions(reconnectOnConnectionLost:
true)`` (l.591). graphql_flutter has no such option; reconnecting is
``SocketClientConfig(autoReconnect: true)`` (l.167, the default), which re-reads
``initialPayload`` and re-sends every subscription on each reconnect, after a constant
``delayBetweenReconnectionAttempts`` (5 s), with no refresh of a refused token.
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


NOTIFICATIONS = "subscription { notificationReceived { id message } }"  # l.802-804
PRESENCE = "subscription { userPresenceUpdated { userId status } }"  # l.808-810


class ChapterStream:
    """What ``client.subscribe(...)`` returns in graphql_flutter: a lazy stream.

    Nothing goes on the wire until someone listens; each :meth:`listen` is a new
    subscription on the link.
    """

    def __init__(self, link: Any, document: str) -> None:
        self.link, self.document = link, document

    def listen(self) -> Any:
        from rtlab.graphql.links import Operation

        return self.link.subscribe(Operation.of(self.document))


class ChapterMultiSubscriptionManager:
    """``MultiSubscriptionManager`` with its two StreamBuilders.

    :meth:`did_change_dependencies` makes two new (lazy) streams, as the Dart code does on
    every call; :meth:`build` is the frame after it: each ``StreamBuilder`` whose stream
    changed cancels its old subscription and listens to the new one. ``subscribed`` and
    ``cancelled`` count what went on the wire; ``opened`` holds every subscription made.
    """

    SLOTS = ("notifications", "presence")

    def __init__(self, link: Any) -> None:
        self.link = link
        self.notification_stream: ChapterStream | None = None
        self.presence_stream: ChapterStream | None = None
        self.opened: list[Any] = []
        self.subscribed = 0
        self.cancelled = 0
        self._builders: dict[str, tuple[ChapterStream, Any]] = {}  # slot -> (stream, listening)
        self._kept: dict[str, Any] = {}  # the snapshot's data from a cancelled subscription

    def did_change_dependencies(self) -> None:
        """Called by Flutter on first build and whenever an inherited widget changes."""
        self.notification_stream = ChapterStream(self.link, NOTIFICATIONS)
        self.presence_stream = ChapterStream(self.link, PRESENCE)

    @property
    def presence_subscription(self) -> Any:
        """The presence subscription its ``StreamBuilder`` listens to now."""
        return self._builders["presence"][1]

    def live(self) -> list[Any]:
        """The subscriptions the two StreamBuilders listen to now."""
        return [listening for _, listening in self._builders.values()]

    async def _stream_builder(self, slot: str, stream: ChapterStream | None) -> None:
        """``_StreamBuilderBaseState.didUpdateWidget``: a new stream replaces the old one."""
        current = self._builders.get(slot)
        if stream is None or (current is not None and current[0] is stream):
            return
        if current is not None:
            self._kept[slot] = _last_data(current[1]) or self._kept.get(slot)
            await current[1].cancel()  # _unsubscribe(): complete on the wire
            self.cancelled += 1
        listening = stream.listen()
        self.subscribed += 1
        self.opened.append(listening)
        self._builders[slot] = (stream, listening)

    def snapshot(self, slot: str) -> tuple[str, Any]:
        """``(connectionState, data)`` of a ``StreamBuilder``: data survives a stream change."""
        _, listening = self._builders[slot]
        data = _last_data(listening)
        if data is not None:
            return "active", data
        return "waiting", self._kept.get(slot)

    async def build(self) -> str:
        """The frame: both StreamBuilders update, then the builder's text."""
        await self._stream_builder("notifications", self.notification_stream)
        await self._stream_builder("presence", self.presence_stream)
        has_notification = self.snapshot("notifications")[1] is not None
        presence = self.snapshot("presence")[1]
        online_users = presence["userPresenceUpdated"] if presence else []
        banner = "[New!] " if has_notification else ""
        return f"{banner}{online_users} users online"


def _last_data(subscription: Any) -> Any:
    events = subscription.timeline.of_kind(FRAME_IN)
    return events[-1].data if events else None


__all__ = ["ChapterException", "ChapterMultiSubscriptionManager", "ChapterResult",
           "ChapterStream", "chat_builder", "notification_builder"]
