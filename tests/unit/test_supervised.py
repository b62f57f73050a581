"""The shared client skeleton: ``drive`` does what the core decides; ``wait_for`` wakes on
state changes and fails fast once stopped."""

import asyncio

import pytest

from rtlab.backoff import Constant
from rtlab.errors import AuthenticationFailed, ClientClosed, ConnectionFailed, ConnectTimeout
from rtlab.reconnect import Do, Happened, Outcome, Reconnect
from rtlab.state import ATTEMPT, BACKOFF, ConnectionState, Timeline
from rtlab.supervised import Supervised, drive, now

S = ConnectionState
H = Happened


class Toy(Supervised):
    """A client whose attempts end as a script says (no sockets)."""

    def __init__(self, *outcomes: Outcome, **options) -> None:
        self.name = "toy"
        self._init_supervision(None, Constant(0.0), **options)
        self.script = list(outcomes)

    async def _attempt(self) -> Outcome:
        outcome = self.script.pop(0)
        if outcome.happened is H.OPENED:
            self._opened("handshake done")
            outcome = self.script.pop(0)  # how the session ended
        await asyncio.sleep(0)
        return outcome

    async def run(self, *states: ConnectionState) -> None:
        for state in states:
            await asyncio.sleep(0)
            self._core.machine.to(state)


async def test_wait_for_returns_when_the_state_is_reached() -> None:
    toy = Toy()
    toy._supervisor = asyncio.ensure_future(toy.run(S.CONNECTING, S.CONNECTED))
    await toy.wait_for("connected", timeout=1)
    assert toy.connected and toy.timeline.states() == [S.CONNECTING, S.CONNECTED]


async def test_wait_for_fails_fast_when_the_supervisor_stops_short() -> None:
    toy = Toy()
    toy._supervisor = asyncio.ensure_future(toy.run(S.CONNECTING, S.ERROR))
    with pytest.raises(ConnectionError, match="stopped in state error"):
        await toy.wait_for("connected", timeout=1)


async def test_wait_for_times_out_while_still_running() -> None:
    toy = Toy()
    toy._supervisor = asyncio.ensure_future(asyncio.sleep(10))
    with pytest.raises(TimeoutError):
        await toy.wait_for("connected", timeout=0.05)
    toy._supervisor.cancel()


async def test_a_client_fails_opens_drops_and_gives_up_as_the_core_decides() -> None:
    toy = Toy(Outcome(H.FAILED, "refused"), Outcome(H.OPENED), Outcome(H.DROPPED, "lost"),
              Outcome(H.FAILED, "refused", 503), max_attempts=1)
    await toy.connect(wait=False)
    await toy._supervisor
    with pytest.raises(ConnectionFailed, match="gave up after 1 reconnect attempts: refused") \
            as caught:
        await toy.wait_for("connected", timeout=5)
    assert toy.timeline.states() == [S.CONNECTING, S.RECONNECTING, S.CONNECTING, S.CONNECTED,
                                     S.RECONNECTING, S.CONNECTING, S.ERROR]
    assert caught.value.status == 503 and toy.failure is caught.value
    assert [e.attempt for e in toy.timeline.of_kind(ATTEMPT)] == [1, 1]
    assert toy.timeline.events[-1].detail == toy.stop_reason
    toy._mark_closed()
    assert toy.state is S.DISCONNECTED


async def test_ended_stops_in_disconnected_and_wait_for_says_why() -> None:
    toy = Toy(Outcome(H.ENDED, "server answered 204", 204))
    with pytest.raises(ClientClosed, match="stopped in state disconnected: server answered 204"):
        await toy.connect(timeout=5)
    assert toy.failure is None and toy.timeline.events[-1].data == 204


async def test_a_crash_inside_an_attempt_stops_with_the_reason_not_silently() -> None:
    class Broken(Toy):
        async def _attempt(self) -> Outcome:
            raise KeyError("bug")

    toy = Broken()
    with pytest.raises(ConnectionFailed, match="unexpected failure: KeyError"):
        await toy.connect(timeout=5)
    assert isinstance(toy.last_error, KeyError)


async def test_drive_refreshes_when_told_and_stops_when_stopping() -> None:
    core = Reconnect(Constant(1.0), Timeline(), can_refresh=True)
    outcomes = iter([Outcome(H.REFUSED, "4403"), Outcome(H.REFUSED, "4403")])
    refreshed = []

    async def attempt() -> Outcome:
        return next(outcomes)

    async def refresh() -> Outcome:
        refreshed.append(now())
        return Outcome(H.REFRESHED)

    async def pause(_seconds: float) -> None:
        raise AssertionError("a refresh reconnects at once")

    final = await drive(core, attempt=attempt, refresh=refresh, pause=pause)
    assert (final.do, final.state) == (Do.STOP, S.ERROR) and len(refreshed) == 1
    assert [e.delay for e in core.timeline.of_kind(BACKOFF)] == [0.0]

    waits = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    core = Reconnect(Constant(0.5), Timeline())
    failing = iter([Outcome(H.FAILED), Outcome(H.FAILED)])
    closing = iter(["", "", "closed by the client"])

    async def fail() -> Outcome:
        return next(failing)

    final = await drive(core, attempt=fail, pause=record, stopping=lambda: next(closing))
    assert (final.happened, final.state, waits) == (H.CLOSED, S.DISCONNECTED, [0.5, 0.5])


async def test_a_timeout_says_what_the_last_attempt_got_and_the_client_keeps_trying() -> None:
    toy = Toy(*[Outcome(H.FAILED, "connection refused: nothing is listening on host:1")] * 100)
    toy._core.policy = Constant(0.2)
    with pytest.raises(ConnectTimeout) as caught:
        await toy.connect(timeout=0.05)
    assert isinstance(caught.value, TimeoutError)
    assert "not connected after 0.05s (state reconnecting, 1 reconnect attempt so far)" in (
        str(caught.value))
    assert "last attempt: connection refused: nothing is listening on host:1" in str(caught.value)
    assert not toy._supervisor.done()  # still trying
    await toy._stop_supervisor()


async def test_a_timeout_before_any_attempt_ended_says_so() -> None:
    class Slow(Toy):
        async def _attempt(self) -> Outcome:
            await asyncio.Event().wait()
            raise AssertionError("never")

    toy = Slow()
    with pytest.raises(ConnectTimeout, match="the first attempt has not finished yet"):
        await toy.connect(timeout=0.05)
    await toy._stop_supervisor()


@pytest.mark.parametrize("timeout", [0, -1, float("nan")])
async def test_connect_refuses_a_timeout_that_is_not_positive(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout"):
        await Toy().connect(timeout=timeout)


async def test_a_refusal_refreshes_once_then_stops_as_refused_credentials() -> None:
    class Refreshing(Toy):
        refreshes = 0

        async def _refresh(self) -> Outcome:
            self.refreshes += 1
            return Outcome(H.REFRESHED, "fresh")

    toy = Refreshing(Outcome(H.REFUSED, "token refused"), Outcome(H.REFUSED, "token refused"),
                     can_refresh=True)
    with pytest.raises(AuthenticationFailed, match="refused again after a token refresh"):
        await toy.connect(timeout=5)
    assert toy.refreshes == 1

    class Failing(Toy):
        async def _refresh(self) -> Outcome:
            return Outcome(H.FATAL, "token refused (and the refresh failed)")

    toy = Failing(Outcome(H.REFUSED, "token refused"), can_refresh=True)
    with pytest.raises(AuthenticationFailed, match="the refresh failed"):
        await toy.connect(timeout=5)


async def test_a_fatal_failure_stops_at_once_without_a_retry() -> None:
    toy = Toy(Outcome(H.FATAL, "handshake refused: HTTP 404 Not Found", 404))
    with pytest.raises(ConnectionFailed, match="HTTP 404") as caught:
        await toy.connect(timeout=5)
    assert caught.value.status == 404 and not toy.timeline.of_kind(ATTEMPT)
