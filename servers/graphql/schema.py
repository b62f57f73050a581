"""The demo GraphQL schema (strawberry): every document of the chapter runs against it.

Public: ``user``, ``post``, ``posts``, ``chatRoom``, subscriptions ``messageReceived``,
``userPresenceUpdated``, ``postCreated``, ``ticks`` (a paced or unpaced counter, for
benchmarks and live feeds). Signed in (a valid access token): ``me``,
``notifications``, ``createPost``, ``updateUser``, ``sendMessage``, ``markNotificationRead``,
``notificationReceived`` — without one they answer an error with
``extensions.code = "UNAUTHENTICATED"`` (and ``extensions.reason``: missing, expired, ...).

Every entity has ``id`` and ``__typename``, and every mutation returns the entity it
changed, so a normalized cache can update each view that shows it. ``createPost`` feeds
``postCreated`` and notifies the other users; ``sendMessage`` feeds
``messageReceived(chatRoomId)`` and notifies users it ``@mentions``.
"""

from __future__ import annotations

import asyncio
import enum
import re
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import Info

from servers.graphql import data, limits
from servers.graphql.apq import PersistedQueries
from servers.graphql.budget import checkpoint
from servers.graphql.presence import Presence
from servers.graphql.pubsub import LocalPubSub, PubSub

MAX_PAGE = 100
MAX_TICKS = 1_000_000
PROTECTED_SUBSCRIPTIONS = frozenset({"notificationReceived"})
MENTION = re.compile(r"@(\w+)")


@dataclass
class GraphQLApp:
    """What resolvers share for one server process."""

    store: data.Store = field(default_factory=data.seeded)
    pubsub: PubSub = field(default_factory=LocalPubSub)
    presence: Presence = field(default_factory=Presence)
    persisted: PersistedQueries = field(default_factory=PersistedQueries)
    clock: Callable[[], float] = time.time


@dataclass
class Context:
    """Per HTTP request or per WebSocket connection. ``viewer`` = verified JWT claims."""

    app: GraphQLApp
    viewer: dict[str, Any] | None = None
    auth_error: str = "missing bearer token"
    request: Any = None
    websocket: Any = None
    connection_params: dict[str, Any] | None = None  # set by strawberry on connection_init
    on_overflow: Callable[[], None] | None = None  # how a too-slow subscriber is dropped
    presence_id: str | None = None  # set once a WebSocket connection is acknowledged
    expiry: Any = None  # the timer that closes a WebSocket when its token expires


def unauthenticated(reason: str) -> GraphQLError:
    return GraphQLError(
        f"not signed in: {reason}", extensions={"code": "UNAUTHENTICATED", "reason": reason}
    )


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def _ctx(info: Info) -> Context:
    return info.context


def viewer_id(info: Info) -> str:
    """The signed-in user's id, or an UNAUTHENTICATED error (expiry checked now, so a
    long-lived WebSocket connection cannot outlive its token)."""
    ctx = _ctx(info)
    if ctx.viewer is None:
        raise unauthenticated(ctx.auth_error)
    if ctx.viewer.get("exp", 0) <= ctx.app.clock():
        raise unauthenticated("token expired")
    return str(ctx.viewer["sub"])


def _page(limit: int, offset: int) -> tuple[int, int]:
    if not 0 <= limit <= MAX_PAGE:
        raise bad_input(f"limit must be from 0 to {MAX_PAGE}, got {limit}")
    if offset < 0:
        raise bad_input(f"offset must not be negative, got {offset}")
    return limit, offset


# -- types -------------------------------------------------------------------------------------
@strawberry.type(description="A demo user (alice, bob, carol: ids 1, 2, 3).")
class User:
    id: strawberry.ID
    username: str
    name: str
    email: str
    avatar: str | None
    bio: str

    @classmethod
    def of(cls, r: data.UserRecord) -> User:
        return cls(id=strawberry.ID(r.id), username=r.username, name=r.name, email=r.email,
                   avatar=r.avatar, bio=r.bio)

    @strawberry.field(description="This user's posts, newest first.")
    async def posts(self, info: Info, limit: int = 10, offset: int = 0) -> list[Post]:
        limit, offset = _page(limit, offset)
        await checkpoint()
        return [Post.of(p) for p in _ctx(info).app.store.list_posts(str(self.id), limit, offset)]

    @strawberry.field
    def post_count(self, info: Info) -> int:
        return _ctx(info).app.store.post_count(str(self.id))


def _user(info: Info, user_id: str) -> User:
    record = _ctx(info).app.store.user(user_id)
    assert record is not None, f"dangling user id {user_id}"
    return User.of(record)


@strawberry.type
class Comment:
    id: strawberry.ID
    content: str
    created_at: str
    author_id: strawberry.Private[str]

    @strawberry.field
    def author(self, info: Info) -> User:
        return _user(info, self.author_id)


@strawberry.type
class Post:
    id: strawberry.ID
    title: str
    content: str
    created_at: str = strawberry.field(description="ISO 8601, UTC")
    author_id: strawberry.Private[str]

    @classmethod
    def of(cls, r: data.PostRecord) -> Post:
        return cls(id=strawberry.ID(r.id), title=r.title, content=r.content,
                   created_at=data.iso(r.created_at), author_id=r.author_id)

    @strawberry.field
    def author(self, info: Info) -> User:
        return _user(info, self.author_id)

    @strawberry.field
    async def comments(self, info: Info) -> list[Comment]:
        await checkpoint()
        return [
            Comment(id=strawberry.ID(c.id), content=c.content, created_at=data.iso(c.created_at),
                    author_id=c.author_id)
            for c in _ctx(info).app.store.comments_of(str(self.id))
        ]

    @strawberry.field
    def comment_count(self, info: Info) -> int:
        return len(_ctx(info).app.store.comments_of(str(self.id)))


@strawberry.type
class Attachment:
    type: str
    url: str


@strawberry.type
class Message:
    id: strawberry.ID
    content: str
    timestamp: str
    chat_room_id: strawberry.ID
    attachments: list[Attachment]
    sender_id: strawberry.Private[str]

    @classmethod
    def of(cls, r: data.MessageRecord) -> Message:
        return cls(id=strawberry.ID(r.id), content=r.content, timestamp=data.iso(r.timestamp),
                   chat_room_id=strawberry.ID(r.room_id),
                   attachments=[Attachment(type=a.type, url=a.url) for a in r.attachments],
                   sender_id=r.sender_id)

    @strawberry.field
    def sender(self, info: Info) -> User:
        return _user(info, self.sender_id)


@strawberry.type(description="Any room id works; `general` is seeded.")
class ChatRoom:
    id: strawberry.ID

    @strawberry.field
    def name(self) -> str:
        return f"#{self.id}"

    @strawberry.field(description="The last `limit` messages, oldest first.")
    async def messages(self, info: Info, limit: int = 50) -> list[Message]:
        limit, _ = _page(limit, 0)
        await checkpoint()
        return [Message.of(m) for m in _ctx(info).app.store.messages(str(self.id), limit)]

    @strawberry.field(description="Live messageReceived subscriptions to this room, server-wide "
                                  "(lets a client prove it resubscribed exactly once).")
    async def subscribers(self, info: Info) -> int:
        return await _ctx(info).app.pubsub.subscribers(f"room:{self.id}")


@strawberry.type
class NotificationMetadata:
    action_url: str | None
    image_url: str | None


@strawberry.type
class Notification:
    id: strawberry.ID
    type: str
    message: str
    timestamp: str
    read: bool
    metadata: NotificationMetadata | None

    @classmethod
    def of(cls, r: data.NotificationRecord) -> Notification:
        meta = NotificationMetadata(action_url=r.action_url, image_url=r.image_url)
        return cls(id=strawberry.ID(r.id), type=r.type, message=r.message,
                   timestamp=data.iso(r.timestamp), read=r.read,
                   metadata=meta if r.action_url or r.image_url else None)


@strawberry.enum
class PresenceStatus(enum.Enum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"


@strawberry.type(description="One connect or disconnect on WS /graphql.")
class UserPresence:
    user_id: strawberry.ID = strawberry.field(description="a user id, or guest-N if anonymous")
    status: PresenceStatus
    online_count: int = strawberry.field(description="users with an open connection")
    connection_count: int = strawberry.field(description="open connections")
    timestamp: str


@strawberry.type(description="One event of the `ticks` stream.")
class Tick:
    n: int = strawberry.field(description="0, 1, 2, ... per subscription")
    timestamp: str


@strawberry.input
class CreatePostInput:
    title: str
    content: str


@strawberry.input
class UpdateUserInput:
    name: str | None = None
    email: str | None = None
    avatar: str | None = None
    bio: str | None = None


@strawberry.input
class AttachmentInput:
    type: str
    url: str


# -- root types --------------------------------------------------------------------------------
@strawberry.type
class Query:
    @strawberry.field
    def user(self, info: Info, id: strawberry.ID) -> User | None:
        record = _ctx(info).app.store.user(str(id))
        return User.of(record) if record else None

    @strawberry.field(description="Every post, newest first.")
    async def posts(self, info: Info, limit: int = 10, offset: int = 0) -> list[Post]:
        limit, offset = _page(limit, offset)
        await checkpoint()
        return [Post.of(p) for p in _ctx(info).app.store.list_posts(None, limit, offset)]

    @strawberry.field
    def post(self, info: Info, id: strawberry.ID) -> Post | None:
        record = _ctx(info).app.store.posts.get(str(id))
        return Post.of(record) if record else None

    @strawberry.field(description="The signed-in user (needs a token).")
    def me(self, info: Info) -> User | None:
        return _user(info, viewer_id(info))

    @strawberry.field
    def chat_room(self, id: strawberry.ID) -> ChatRoom | None:
        if not 0 < len(id) <= data.MAX_ROOM_ID:
            raise bad_input(f"chat room ids are 1 to {data.MAX_ROOM_ID} characters")
        return ChatRoom(id=id)

    @strawberry.field(description="The signed-in user's notifications, newest first.")
    async def notifications(self, info: Info, unread_only: bool = False) -> list[Notification]:
        uid = viewer_id(info)
        await checkpoint()
        return [Notification.of(n) for n in _ctx(info).app.store.notifications_of(uid, unread_only)]


def _input(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except data.InputError as exc:
        raise bad_input(str(exc)) from None


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Posts as the signed-in user; feeds postCreated.")
    async def create_post(self, info: Info, input: CreatePostInput) -> Post:
        uid = viewer_id(info)
        app = _ctx(info).app
        now = app.clock()
        record = _input(lambda: app.store.create_post(uid, input.title, input.content, now))
        await app.pubsub.publish("posts", record)
        author = app.store.users[uid]
        for other in app.store.users:
            if other != uid:
                note = app.store.notify(other, "NEW_POST", f"{author.name} posted “{record.title}”",
                                        now, action_url=f"/posts/{record.id}",
                                        image_url=author.avatar)
                await app.pubsub.publish(f"notifications:{other}", note)
        return Post.of(record)

    @strawberry.mutation(description="Changes the signed-in user; returns the updated User.")
    def update_user(self, info: Info, input: UpdateUserInput) -> User:
        uid = viewer_id(info)
        app = _ctx(info).app
        record = _input(lambda: app.store.update_user(
            uid, app.clock(), name=input.name, email=input.email, avatar=input.avatar,
            bio=input.bio,
        ))
        return User.of(record)

    @strawberry.mutation(description="Feeds messageReceived(chatRoomId); @name notifies name.")
    async def send_message(
        self, info: Info, chat_room_id: strawberry.ID, content: str,
        attachments: list[AttachmentInput] | None = None,
    ) -> Message:
        uid = viewer_id(info)
        app = _ctx(info).app
        now = app.clock()
        files = tuple(data.Attachment(a.type, a.url) for a in attachments or ())
        record = _input(lambda: app.store.send_message(str(chat_room_id), uid, content, now, files))
        await app.pubsub.publish(f"room:{record.room_id}", record)
        by_name = {u.username: u.id for u in app.store.users.values()}
        for name in sorted(set(MENTION.findall(content))):
            target = by_name.get(name)
            if target and target != uid:
                note = app.store.notify(
                    target, "MENTION", f"{app.store.users[uid].name} in #{record.room_id}: "
                    f"{content[:80]}", now, action_url=f"/chat/{record.room_id}")
                await app.pubsub.publish(f"notifications:{target}", note)
        return Message.of(record)

    @strawberry.mutation
    def mark_notification_read(self, info: Info, id: strawberry.ID) -> Notification:
        uid = viewer_id(info)
        store = _ctx(info).app.store
        return Notification.of(_input(lambda: store.mark_read(uid, str(id))))


async def _stream(info: Info, topic: str) -> AsyncGenerator[Any, None]:
    ctx = _ctx(info)
    async with ctx.app.pubsub.subscribe(topic, on_overflow=ctx.on_overflow) as events:
        async for event in events:
            yield event


@strawberry.type
class Subscription:
    @strawberry.subscription(description="The signed-in user's new notifications.")
    async def notification_received(self, info: Info) -> AsyncGenerator[Notification, None]:
        uid = viewer_id(info)
        async for record in _stream(info, f"notifications:{uid}"):
            yield Notification.of(record)

    @strawberry.subscription
    async def message_received(
        self, info: Info, chat_room_id: strawberry.ID
    ) -> AsyncGenerator[Message, None]:
        async for record in _stream(info, f"room:{chat_room_id}"):
            yield Message.of(record)

    @strawberry.subscription(description="Every connect and disconnect on WS /graphql.")
    async def user_presence_updated(self, info: Info) -> AsyncGenerator[UserPresence, None]:
        async for event in _stream(info, "presence"):
            yield UserPresence(
                user_id=strawberry.ID(event.user_id), status=PresenceStatus(event.status),
                online_count=event.online_count, connection_count=event.connection_count,
                timestamp=data.iso(event.timestamp),
            )

    @strawberry.subscription(description="Every post created, by anyone.")
    async def post_created(self, info: Info) -> AsyncGenerator[Post, None]:
        async for record in _stream(info, "posts"):
            yield Post.of(record)


    @strawberry.subscription(description=f"`count` events (at most {MAX_TICKS:,}), `interval` "
                                         "seconds apart; 0 = as fast as the client reads.")
    async def ticks(self, count: int, interval: float = 0.0) -> AsyncGenerator[Tick, None]:
        if not 0 <= count <= MAX_TICKS:
            raise bad_input(f"count must be from 0 to {MAX_TICKS}, got {count}")
        if not 0 <= interval <= 60:
            raise bad_input(f"interval must be from 0 to 60 seconds, got {interval}")
        for n in range(count):
            yield Tick(n=n, timestamp=data.iso(time.time()))
            if interval:
                await asyncio.sleep(interval)
            elif n % 64 == 63:
                await asyncio.sleep(0)  # let the other connections have the loop


#: what strawberry raises for a client's mistake rather than a failure of ours
CLIENT_MISTAKES = (GraphQLError, MissingQueryError, CannotGetOperationTypeError,
                   InvalidOperationTypeError)


class DemoSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log only real failures; a client's mistakes (bad query, no token, an operation
        name the document lacks) are answers, not tracebacks."""
        unexpected = [
            e for e in errors
            if e.original_error is not None and not isinstance(e.original_error, CLIENT_MISTAKES)
        ]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema() -> strawberry.Schema:
    return DemoSchema(
        query=Query, mutation=Mutation, subscription=Subscription,
        extensions=limits.extensions(),
    )
