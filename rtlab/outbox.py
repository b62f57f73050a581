"""The send queue and the receive queue every rtlab client shares: bounded, and never silent.

:class:`Outbox` holds what a client promised to send: messages queued while offline
and messages *in flight* (written, not yet acknowledged). Its rules:

* **Bounded.** At most ``size`` messages are pending (queued plus in flight). On a
  full outbox, ``overflow="reject"`` refuses the new message with
  :class:`~rtlab.errors.QueueFull`; ``"drop-oldest"`` drops the oldest *queued* one and
  hands it back, so the client can say so on its timeline. In-flight messages are never
  dropped: they may already have reached the server. Memory is bounded by ``size`` times
  the largest message.
* **Order.** Messages leave in the order they were accepted. A write that failed puts its
  message back at the head. After a reconnect, :meth:`Outbox.requeue` puts every
  unacknowledged message back at the head, oldest first, ahead of everything queued.
* **Nothing lost unseen.** Every accepted message is, at any time, queued, in flight,
  written (and not tracked), acknowledged, or handed back by ``put`` (dropped) or
  :meth:`Outbox.drain` (failed): the property tests check it.

:class:`Inbox` holds what arrived and was not read yet: at most ``size`` items, the
oldest unread dropped first when nobody reads (counted in ``dropped`` and noted on the
timeline every thousand drops, never silently), so a notebook that only watches the
timeline never stalls the link. ``size=0`` keeps nothing (a client only watched). After
:meth:`Inbox.end` the unread items still come out, then the end's error.

No sockets and no clock here. ``Inbox.get`` awaits an asyncio future, the only wait.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import Any, Generic, Literal, TypeVar

from rtlab.errors import QueueFull
from rtlab.knobs import count
from rtlab.state import NOTE, Timeline

T = TypeVar("T")
Overflow = Literal["reject", "drop-oldest"]
OVERFLOWS: tuple[Overflow, ...] = ("reject", "drop-oldest")


class Outbox(Generic[T]):
    """Messages on their way out: queued while they wait, in flight until acknowledged.

    A driver writes the head with ``take`` (``key``: the id an ack will name; None for a
    message nothing acknowledges), then calls ``written`` or, if the write failed,
    ``unsent``. A message being written still counts as pending.
    """

    __slots__ = ("size", "overflow", "queued", "in_flight", "writing", "dropped")

    def __init__(self, size: int, overflow: Overflow = "reject") -> None:
        count("queue_size", size, minimum=1)
        if overflow not in OVERFLOWS:
            raise ValueError(f"overflow must be 'reject' or 'drop-oldest', got {overflow!r}")
        self.size, self.overflow = size, overflow
        self.queued: deque[T] = deque()
        self.in_flight: dict[Hashable, T] = {}  # in the order they were written
        self.writing = 0  # untracked messages taken and not yet written
        self.dropped = 0

    def __len__(self) -> int:
        """Pending: queued, being written, or in flight."""
        return len(self.queued) + len(self.in_flight) + self.writing

    def put(self, item: T, *, first: bool = False) -> T | None:
        """Accept ``item`` at the tail (the head with ``first``); returns the message dropped
        to make room (``drop-oldest``), or None. Raises :class:`QueueFull` to refuse it."""
        dropped = None
        if len(self) >= self.size:
            if self.overflow == "reject" or not self.queued:
                raise QueueFull(f"{len(self)} messages already waiting "
                                f"(queue_size={self.size}); message not queued")
            dropped = self.queued.popleft()
            self.dropped += 1
        if first:
            self.queued.appendleft(item)
        else:
            self.queued.append(item)
        return dropped

    def sending(self, key: Callable[[T], Hashable | None] | None = None) -> _Sending[T]:
        """``with outbox.sending(key) as item: await write(item)``: the head is taken (in
        flight under ``key(item)``), then marked written, or put back at the head if the
        write raised."""
        return _Sending(self, key)

    def take(self, key: Hashable | None = None) -> T:
        """Remove the head to write it; with ``key`` it stays in flight until :meth:`acked`
        (tracked before the write, so an ack that overtakes the write still finds it)."""
        item = self.queued.popleft()
        if key is None:
            self.writing += 1
        else:
            self.in_flight[key] = item
        return item

    def written(self, key: Hashable | None = None) -> None:
        """The write of a message taken with ``key`` finished."""
        if key is None:
            self.writing -= 1

    def unsent(self, item: T, key: Hashable | None = None) -> None:
        """The write of ``item`` (taken with ``key``) failed: it goes back to the head,
        unless its ack arrived meanwhile (then it was delivered after all)."""
        if key is None:
            self.writing -= 1
        elif self.in_flight.pop(key, None) is None:
            return
        self.queued.appendleft(item)

    def acked(self, key: Hashable) -> T | None:
        """The peer acknowledged ``key``: no longer in flight (None if it was not)."""
        return self.in_flight.pop(key, None)

    def forget(self, key: Hashable) -> T | None:
        """Stop tracking ``key`` (its ack timed out: the caller sends it again, or gives up)."""
        return self.in_flight.pop(key, None)

    def requeue(self) -> list[T]:
        """Every unacknowledged message back to the head, oldest first (after a reconnect)."""
        items = list(self.in_flight.values())
        self.in_flight.clear()
        self.queued.extendleft(reversed(items))
        return items

    def drain(self) -> list[T]:
        """Remove what is queued or in flight, in flight first (to fail them on giving up)."""
        items = [*self.in_flight.values(), *self.queued]
        self.in_flight.clear()
        self.queued.clear()
        return items


class _Sending(Generic[T]):
    """The context of one write of an outbox's head (see :meth:`Outbox.sending`)."""

    __slots__ = ("outbox", "key_of", "item", "key")

    def __init__(self, outbox: Outbox[T], key_of: Callable[[T], Hashable | None] | None) -> None:
        self.outbox, self.key_of = outbox, key_of

    def __enter__(self) -> T:
        outbox = self.outbox
        head = outbox.queued[0]
        self.key = None if self.key_of is None else self.key_of(head)
        self.item = outbox.take(self.key)
        return self.item

    def __exit__(self, kind: type[BaseException] | None, *_rest: object) -> None:
        if kind is None:
            self.outbox.written(self.key)
        else:
            self.outbox.unsent(self.item, self.key)


class Inbox(Generic[T]):
    """Received items waiting to be read (see the module docs)."""

    __slots__ = ("size", "items", "dropped", "ended", "error", "_waiters", "_timeline",
                 "_what", "_hint")

    def __init__(self, size: int, timeline: Timeline | None = None, *, what: str = "messages",
                 hint: str = "call recv() or raise inbox_size") -> None:
        count("inbox_size", size)
        self.size = size
        self.items: deque[T] = deque()
        self.dropped = 0
        self.ended = False
        self.error: BaseException | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._timeline, self._what, self._hint = timeline, what, hint

    def __len__(self) -> int:
        return len(self.items)

    def put(self, item: T) -> None:
        """Keep ``item`` for a reader; when full, drop the oldest unread one, visibly."""
        items = self.items
        if len(items) >= self.size:
            if not self.size:
                return
            items.popleft()
            self._count_drops(1)
        items.append(item)
        if self._waiters:
            self.wake()

    def extend(self, new: list[T]) -> None:
        """:meth:`put` each of ``new``, in order (one call for a whole chunk of events)."""
        if not self.size:
            return
        items = self.items
        items.extend(new)
        over = len(items) - self.size
        if over > 0:
            for _ in range(over):
                items.popleft()
            self._count_drops(over)
        if self._waiters:
            self.wake()

    def _count_drops(self, n: int) -> None:
        """Count ``n`` more drops; note the first and every thousandth on the timeline."""
        before, self.dropped = self.dropped, self.dropped + n
        if (self.dropped - 1) // 1000 > (before - 1) // 1000 and self._timeline is not None:
            self._timeline.record(
                NOTE, detail=f"inbox full ({self.size}): {self.dropped} unread "
                f"{self._what} dropped so far; {self._hint}")

    def end(self, error: BaseException) -> None:
        """Nothing more comes: once the unread items are out, :meth:`get` raises ``error``."""
        if not self.ended:
            self.ended, self.error = True, error
        self.wake()

    def wake(self) -> None:
        """Wake every waiting :meth:`get` (new items, or the end)."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def get(self) -> T:
        """The oldest unread item, waiting for one; after :meth:`end`, its error."""
        items = self.items
        while not items:
            if self.ended:
                assert self.error is not None
                raise self.error
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        return items.popleft()


async def until_end(next_item: Callable[[], Awaitable[T]],
                    end: type[BaseException] | tuple[type[BaseException], ...] = StopAsyncIteration,
                    finish: Callable[[], Awaitable[Any]] | None = None) -> AsyncIterator[T]:
    """The items ``next_item()`` returns until it raises ``end``; ``finish()`` runs however
    the iteration stops (the loop ended, ``break``, an error): an ``async for`` body."""
    try:
        while True:
            try:
                item = await next_item()
            except end:
                return
            yield item
    finally:
        if finish is not None:
            await finish()


class WithOutbox:
    """Mixin for a client that sends through an :class:`Outbox` (``self._outbox``)."""

    _outbox: Outbox[Any]

    @property
    def pending(self) -> int:
        """Messages not yet known to be delivered: queued, being written, or in flight."""
        return len(self._outbox)

    @property
    def queue_size(self) -> int:
        return self._outbox.size

    @property
    def overflow(self) -> Overflow:
        return self._outbox.overflow


class WithInbox:
    """Mixin for a client that hands received items out of an :class:`Inbox` (``self._inbox``)."""

    _inbox: Inbox[Any]

    @property
    def inbox_size(self) -> int:
        return self._inbox.size

    @property
    def inbox_dropped(self) -> int:
        """Items dropped unread because the inbox was full."""
        return self._inbox.dropped

    async def recv(self) -> Any:
        """The next item, waiting for it; once the client stopped, the unread items still
        come out first, then the reason it stopped is raised."""
        items = self._inbox.items
        if items:  # the fast path: no waiting, no task switch
            return items.popleft()
        return await self._inbox.get()


__all__ = ["OVERFLOWS", "Inbox", "Outbox", "Overflow", "WithInbox", "WithOutbox", "until_end"]
