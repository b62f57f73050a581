"""The GraphQL demo's data: deterministic seeded records and the operations that change them.

Pure: no I/O and no clock of its own (callers pass ``now`` as epoch seconds), so a fresh
:class:`Store` always holds the same users, posts, comments, chat messages and notifications,
and a notebook can print exact values. Ids are strings, counted per type (``User:1`` and
``Post:1`` are different entities, which is why a normalized cache keys on ``__typename``).
"""

from __future__ import annotations

import collections
import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

SEED_EPOCH = 1_735_722_000  # 2025-01-01T09:00:00Z: seeded records are spaced after it
MAX_ROOM_ID = 64
MAX_ROOMS = 1000
MAX_MESSAGES_PER_ROOM = 500
MAX_TITLE = 200
MAX_CONTENT = 10_000

USERS = (  # id, username, name
    ("1", "alice", "Alice Andersen"),
    ("2", "bob", "Bob Brown"),
    ("3", "carol", "Carol Chen"),
)
POSTS_PER_USER = {"1": 24, "2": 10, "3": 6}  # alice has more than two pages of 10
TOPICS = (
    "WebSockets", "Backoff with jitter", "GraphQL caching", "Server-Sent Events",
    "Socket.IO rooms", "Heartbeats", "Offline queues", "Persisted queries",
)


class InputError(ValueError):
    """Input a client can fix (too long, empty, unknown id); the message says what."""


def iso(epoch: float) -> str:
    """ISO 8601 in UTC with milliseconds, the format of every timestamp field."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


@dataclass(frozen=True)
class UserRecord:
    id: str
    username: str
    name: str
    email: str
    avatar: str
    bio: str


@dataclass(frozen=True)
class PostRecord:
    id: str
    author_id: str
    title: str
    content: str
    created_at: float


@dataclass(frozen=True)
class CommentRecord:
    id: str
    post_id: str
    author_id: str
    content: str
    created_at: float


@dataclass(frozen=True)
class Attachment:
    type: str
    url: str


@dataclass(frozen=True)
class MessageRecord:
    id: str
    room_id: str
    sender_id: str
    content: str
    timestamp: float
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class NotificationRecord:
    id: str
    user_id: str
    type: str
    message: str
    timestamp: float
    read: bool = False
    action_url: str | None = None
    image_url: str | None = None


@dataclass
class Store:
    """Every record of one server process. Posts are listed newest first."""

    users: dict[str, UserRecord] = field(default_factory=dict)
    posts: dict[str, PostRecord] = field(default_factory=dict)
    comments: dict[str, list[CommentRecord]] = field(default_factory=dict)  # by post id
    rooms: dict[str, collections.deque[MessageRecord]] = field(default_factory=dict)
    notifications: dict[str, NotificationRecord] = field(default_factory=dict)
    _ids: dict[str, itertools.count] = field(default_factory=dict)
    _id_offset: int = 0
    _id_step: int = 1

    def next_id(self, kind: str) -> str:
        counter = self._ids.setdefault(kind, itertools.count(1 + self._id_offset, self._id_step))
        return str(next(counter))

    def interleave_ids(self, index: int, processes: int) -> None:
        """Number new records apart from ``processes - 1`` other stores seeded alike: this one
        takes every ``processes``-th id from here on, starting ``index`` after the next."""
        self._id_offset, self._id_step = index, processes
        for kind, counter in list(self._ids.items()):
            self._ids[kind] = itertools.count(next(counter) + index, processes)

    # -- reads ------------------------------------------------------------------------------
    def user(self, user_id: str) -> UserRecord | None:
        return self.users.get(str(user_id))

    def _newest_first(self, author_id: str | None) -> list[PostRecord]:
        rows = [p for p in self.posts.values() if author_id is None or p.author_id == author_id]
        return sorted(rows, key=lambda p: (p.created_at, int(p.id)), reverse=True)

    def list_posts(self, author_id: str | None, limit: int, offset: int) -> list[PostRecord]:
        if limit < 0 or offset < 0:
            raise InputError("limit and offset must not be negative")
        return self._newest_first(author_id)[offset : offset + limit]

    def post_count(self, author_id: str | None = None) -> int:
        return sum(1 for p in self.posts.values() if author_id is None or p.author_id == author_id)

    def comments_of(self, post_id: str) -> list[CommentRecord]:
        return list(self.comments.get(post_id, ()))

    def messages(self, room_id: str, limit: int) -> list[MessageRecord]:
        """The last ``limit`` messages of a room, oldest first; an unknown room is empty."""
        room = self.rooms.get(room_id, ())
        return list(room)[-limit:] if limit > 0 else []

    def notifications_of(self, user_id: str, unread_only: bool = False) -> list[NotificationRecord]:
        rows = [n for n in self.notifications.values() if n.user_id == user_id]
        rows = [n for n in rows if not (unread_only and n.read)]
        return sorted(rows, key=lambda n: (n.timestamp, int(n.id)), reverse=True)

    # -- writes -----------------------------------------------------------------------------
    def create_post(self, author_id: str, title: str, content: str, now: float) -> PostRecord:
        title = title.strip()
        if not title:
            raise InputError("title must not be empty")
        if len(title) > MAX_TITLE or len(content) > MAX_CONTENT:
            raise InputError(f"title ≤ {MAX_TITLE} and content ≤ {MAX_CONTENT} characters")
        post = PostRecord(self.next_id("post"), author_id, title, content, now)
        self.posts[post.id] = post
        return post

    def update_user(self, user_id: str, now: float, **changes: str | None) -> UserRecord:
        user = self.users.get(user_id)
        if user is None:
            raise InputError(f"no user with id {user_id!r}")
        given = {k: v for k, v in changes.items() if v is not None}
        for key, value in given.items():
            if key in ("name", "email") and not value.strip():
                raise InputError(f"{key} must not be empty")
            if len(value) > MAX_TITLE:
                raise InputError(f"{key} longer than {MAX_TITLE} characters")
        updated = replace(user, **given)
        self.users[user_id] = updated
        return updated

    def send_message(
        self, room_id: str, sender_id: str, content: str, now: float,
        attachments: tuple[Attachment, ...] = (),
    ) -> MessageRecord:
        if not room_id or len(room_id) > MAX_ROOM_ID:
            raise InputError(f"chatRoomId must be 1 to {MAX_ROOM_ID} characters")
        if not content.strip() and not attachments:
            raise InputError("a message needs content or an attachment")
        if len(content) > MAX_CONTENT:
            raise InputError(f"content longer than {MAX_CONTENT} characters")
        if room_id not in self.rooms and len(self.rooms) >= MAX_ROOMS:
            raise InputError(f"too many chat rooms (at most {MAX_ROOMS})")
        message = MessageRecord(
            self.next_id("message"), room_id, sender_id, content, now, attachments
        )
        self.rooms.setdefault(room_id, collections.deque(maxlen=MAX_MESSAGES_PER_ROOM)).append(
            message
        )
        return message

    def notify(
        self, user_id: str, type: str, message: str, now: float,
        action_url: str | None = None, image_url: str | None = None,
    ) -> NotificationRecord:
        note = NotificationRecord(
            self.next_id("notification"), user_id, type, message, now,
            action_url=action_url, image_url=image_url,
        )
        self.notifications[note.id] = note
        return note

    def mark_read(self, user_id: str, notification_id: str) -> NotificationRecord:
        note = self.notifications.get(str(notification_id))
        if note is None or note.user_id != user_id:  # someone else's is "not found" too
            raise InputError(f"no notification {notification_id!r} for this user")
        note = replace(note, read=True)
        self.notifications[note.id] = note
        return note


def seeded() -> Store:
    """The same store every time: 3 users, 40 posts, comments, a `general` room, notes."""
    store = Store()
    for uid, username, name in USERS:
        store.users[uid] = UserRecord(
            uid, username, name, f"{username}@example.com",
            f"https://example.com/avatars/{username}.png",
            f"{name.split()[0]} writes about {TOPICS[int(uid)]}.",
        )
    # Posts interleave authors in time; created_at is spaced so the order is total.
    order = [uid for n in range(max(POSTS_PER_USER.values()))
             for uid in POSTS_PER_USER if n < POSTS_PER_USER[uid]]
    numbers: collections.Counter[str] = collections.Counter()
    for i, uid in enumerate(order):
        numbers[uid] += 1
        n = numbers[uid]
        topic = TOPICS[(i + int(uid)) % len(TOPICS)]
        post = PostRecord(
            store.next_id("post"), uid, f"{topic}, part {n}",
            f"{store.users[uid].name.split()[0]}'s note {n} on {topic.lower()}.",
            SEED_EPOCH + 3600 * i,
        )
        store.posts[post.id] = post
        for k in range(int(post.id) % 4):  # 0 to 3 comments, by the other users in turn
            others = [u for u in POSTS_PER_USER if u != uid]
            author = others[k % len(others)]
            store.comments.setdefault(post.id, []).append(CommentRecord(
                store.next_id("comment"), post.id, author,
                f"{store.users[author].name.split()[0]} on {topic.lower()}: comment {k + 1}",
                post.created_at + 600 * (k + 1),
            ))
    general = ["Welcome to #general!", "Hi all", "Is the ticker server up?", "It is.", "Thanks"]
    for i, text in enumerate(general):
        store.send_message("general", USERS[i % 3][0], text, SEED_EPOCH + 60 * i)
    for j, (uid, _username, _name) in enumerate(USERS):
        for k in range(3):
            store.notify(
                uid, ("COMMENT", "MENTION", "SYSTEM")[k],
                f"seeded notification {k + 1} for {store.users[uid].username}",
                SEED_EPOCH + 900 * (3 * j + k), action_url=f"/posts/{k + 1}",
                image_url=None if k == 2 else f"https://example.com/icons/{k}.png",
            )
    return store
