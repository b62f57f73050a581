"""Outbox and Inbox, property-tested: nothing accepted is lost unseen, order is kept,
bounds hold, whatever sequence of sends, writes, failures, acks and reconnects happens."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from rtlab.errors import ClientClosed, QueueFull
from rtlab.outbox import Inbox, Outbox
from rtlab.state import NOTE, Timeline


class OutboxModel(RuleBasedStateMachine):
    """A driver's every move against a plain model of where each message is."""

    @initialize(size=st.integers(1, 6), overflow=st.sampled_from(["reject", "drop-oldest"]))
    def start(self, size: int, overflow: str) -> None:
        self.box: Outbox[int] = Outbox(size, overflow)  # type: ignore[arg-type]
        self.size, self.overflow = size, overflow
        self.next_id = 0
        self.queue: list[int] = []  # the model's queue, head first
        self.in_flight: list[int] = []  # tracked, in write order
        self.writing: dict[int, bool] = {}  # being written -> tracked?
        self.where: dict[int, str] = {}  # every accepted message: where it is now

    def pending(self) -> int:
        return len(self.queue) + len(self.in_flight) + sum(1 for t in self.writing.values()
                                                           if not t)

    @rule(first=st.booleans())
    def put(self, first: bool) -> None:
        item, self.next_id = self.next_id, self.next_id + 1
        full = self.pending() >= self.size
        if full and (self.overflow == "reject" or not self.queue):
            with pytest.raises(QueueFull, match=f"queue_size={self.size}"):
                self.box.put(item, first=first)
            return
        dropped = self.box.put(item, first=first)
        if full:
            assert dropped == self.queue.pop(0)  # the oldest queued, never one in flight
            self.where[dropped] = "dropped"  # handed back: the driver notes it
        else:
            assert dropped is None
        self.queue.insert(0, item) if first else self.queue.append(item)
        self.where[item] = "queued"

    @precondition(lambda self: self.queue)
    @rule(tracked=st.booleans())
    def take(self, tracked: bool) -> None:
        item = self.box.take(item_key(self.queue[0]) if tracked else None)
        assert item == self.queue.pop(0)
        self.writing[item] = tracked
        if tracked:
            self.in_flight.append(item)
        self.where[item] = "writing"

    @precondition(lambda self: self.queue)
    @rule(tracked=st.booleans(), ok=st.booleans())
    def write_the_head(self, tracked: bool, ok: bool) -> None:
        """The ``with outbox.sending(...)`` form: written, or back at the head."""
        head = self.queue[0]
        try:
            with self.box.sending(item_key if tracked else None) as item:
                assert item == head and len(self.box) == self.pending()  # still pending
                if not ok:
                    raise ConnectionError("link broke")
        except ConnectionError:
            assert list(self.box.queued)[0] == head
            return
        self.queue.pop(0)
        if tracked:
            self.in_flight.append(head)
        self.where[head] = "in flight" if tracked else "done"

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def ack_timed_out(self, data: st.DataObject) -> None:
        item = data.draw(st.sampled_from([i for i in self.in_flight if i not in self.writing]
                                         or [None]))
        if item is None:
            return
        assert self.box.forget(item_key(item)) == item
        self.in_flight.remove(item)
        self.where[item] = "done"  # the caller re-sends it as a new message, or gives up

    @precondition(lambda self: self.writing)
    @rule(data=st.data(), ok=st.booleans())
    def finish_write(self, data: st.DataObject, ok: bool) -> None:
        item = data.draw(st.sampled_from(sorted(self.writing)))
        tracked = self.writing.pop(item)
        key = item_key(item) if tracked else None
        if ok:
            self.box.written(key)
            self.where[item] = "in flight" if item in self.in_flight else "done"
            return
        self.box.unsent(item, key)
        if tracked and item not in self.in_flight:
            self.where[item] = "done"  # acknowledged while being written: delivered
            return
        if tracked:
            self.in_flight.remove(item)
        self.queue.insert(0, item)
        self.where[item] = "queued"

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def ack(self, data: st.DataObject) -> None:
        item = data.draw(st.sampled_from(self.in_flight))
        assert self.box.acked(item_key(item)) == item
        self.in_flight.remove(item)
        if item not in self.writing:
            self.where[item] = "done"

    @rule()
    def ack_unknown(self) -> None:
        assert self.box.acked("no such id") is None

    @precondition(lambda self: not self.writing)
    @rule()
    def reconnect(self) -> None:
        assert self.box.requeue() == self.in_flight
        self.queue = self.in_flight + self.queue  # unacked first, oldest first
        for item in self.in_flight:
            self.where[item] = "queued"
        self.in_flight = []

    @precondition(lambda self: not self.writing)
    @rule()
    def give_up(self) -> None:
        drained = self.box.drain()
        assert drained == self.in_flight + self.queue
        for item in drained:
            self.where[item] = "drained"  # handed back: the driver fails them
        self.queue, self.in_flight = [], []

    @invariant()
    def bounded(self) -> None:
        assert len(self.box) == self.pending() <= self.size

    @invariant()
    def order_kept_and_nothing_lost(self) -> None:
        assert list(self.box.queued) == self.queue
        assert list(self.box.in_flight.values()) == self.in_flight
        for item, place in self.where.items():
            assert place in ("queued", "writing", "in flight", "done", "dropped", "drained")
            assert (item in self.box.queued) == (place == "queued"), (item, place)


def item_key(item: int) -> str:
    return f"id-{item}"


OutboxModel.TestCase.settings = settings(max_examples=200, stateful_step_count=40,
                                         deadline=None)
TestOutbox = OutboxModel.TestCase


def test_outbox_refuses_bad_knobs() -> None:
    with pytest.raises(ValueError, match="queue_size"):
        Outbox(0)
    with pytest.raises(ValueError, match="overflow"):
        Outbox(3, "drop-newest")  # type: ignore[arg-type]


# -- the inbox ----------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(size=st.integers(0, 8), ops=st.lists(st.integers(-1, 3), max_size=80))
def test_inbox_keeps_the_newest_in_order_and_counts_every_drop(size: int, ops: list[int]) -> None:
    """op -1: read one; 0: put one; k > 0: a chunk of k items at once (``extend``)."""
    inbox: Inbox[int] = Inbox(size)
    sent, read, unread, dropped = 0, [], [], []
    for op in ops:
        if op >= 0:
            chunk = list(range(sent, sent + max(op, 1)))
            inbox.put(chunk[0]) if op == 0 else inbox.extend(chunk)
            for item in chunk:
                unread.append(item)
                if len(unread) > size:
                    dropped.append(unread.pop(0))  # the oldest unread goes first
            sent += len(chunk)
        elif inbox.items:
            read.append(inbox.items.popleft())
            assert read[-1] == unread.pop(0)  # order kept
        assert list(inbox.items) == unread and len(inbox) <= size
    if size:  # every item is read, unread, or counted as dropped
        assert inbox.dropped == len(dropped)
        assert sorted(read + unread + dropped) == list(range(sent))
    else:
        assert inbox.dropped == 0 and not inbox.items  # size 0 keeps nothing, counts nothing


async def test_inbox_get_waits_then_drains_then_raises_the_end() -> None:
    inbox: Inbox[str] = Inbox(4)
    waiting = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    inbox.put("a")
    assert await waiting == "a"
    inbox.put("b")
    inbox.end(ClientClosed("closed"))
    inbox.put("c")  # still kept: unread items come out before the end
    assert [await inbox.get(), await inbox.get()] == ["b", "c"]
    with pytest.raises(ClientClosed):
        await inbox.get()
    blocked = [asyncio.ensure_future(Inbox(1).get()) for _ in range(2)]
    await asyncio.sleep(0)
    for task in blocked:
        task.cancel()


async def test_inbox_end_wakes_every_waiter() -> None:
    inbox: Inbox[int] = Inbox(2)
    waiters = [asyncio.ensure_future(inbox.get()) for _ in range(3)]
    await asyncio.sleep(0)
    inbox.end(ClientClosed("bye"))
    for waiter in waiters:
        with pytest.raises(ClientClosed):
            await waiter


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_a_full_inbox_notes_its_drops_on_the_timeline(chunk: int) -> None:
    timeline = Timeline()
    inbox: Inbox[int] = Inbox(2, timeline, what="events")
    for start in range(0, 1005, chunk):
        inbox.extend(list(range(start, min(start + chunk, 1005))))
    notes = [e.detail for e in timeline.of_kind(NOTE)]
    assert inbox.dropped == 1003 and list(inbox.items) == [1003, 1004]
    assert len(notes) == 2  # the first drop, and once more past the thousandth
    assert notes[0].startswith("inbox full (2): ") and notes[0].endswith(
        " unread events dropped so far; call recv() or raise inbox_size")


def test_an_inbox_of_size_zero_keeps_nothing() -> None:
    inbox: Inbox[int] = Inbox(0)
    inbox.put(1)
    assert len(inbox) == 0 and inbox.dropped == 0
    with pytest.raises(ValueError, match="inbox_size"):
        Inbox(-1)
