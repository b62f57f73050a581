"""The reconnect core, row by row: what happened x state x budget -> what to do next.

Every row of ``rtlab.reconnect.TABLE`` has a case in ``ROWS`` below, written out by hand
(not read from the table), and ``test_every_row_has_a_case`` fails when the two differ.
"""

from __future__ import annotations

import pytest

from rtlab.backoff import Constant, Exponential
from rtlab.errors import IllegalTransition
from rtlab.reconnect import TABLE, Do, Happened, Reconnect, status_outcome, table_rows
from rtlab.state import ATTEMPT, BACKOFF, TRANSITIONS, ConnectionState, Timeline

S = ConnectionState
H = Happened


def core(**options) -> Reconnect:
    options.setdefault("policy", Exponential(base=1, cap=8))
    return Reconnect(timeline=Timeline(clock=lambda: 0.0), **options)


def in_state(state: ConnectionState, **options) -> Reconnect:
    """A core brought to ``state`` the way a client gets there."""
    c = core(**options)
    path = {
        S.DISCONNECTED: [],
        S.CONNECTING: [H.START],
        S.CONNECTED: [H.START, H.OPENED],
        S.RECONNECTING: [H.START, H.FATAL, H.START, H.OPENED, H.DROPPED],
        S.ERROR: [H.START, H.FATAL],
    }[state]
    for happened in path:
        c.step(happened, now=0.0)
    assert c.state is state
    return c


LEFT = {}  # the default options leave every budget
NO_ATTEMPTS = {"max_attempts": 0}
NO_REFRESH = {"can_refresh": False}
REFRESH = {"can_refresh": True}

#: (happened, state, budget) -> (options that give that budget, expected do, expected state)
ROWS = {
    (H.START, S.DISCONNECTED, None): (LEFT, Do.OPEN, S.CONNECTING),
    (H.START, S.ERROR, None): (LEFT, Do.OPEN, S.CONNECTING),
    (H.OPENED, S.CONNECTING, None): (LEFT, Do.RUN, S.CONNECTED),
    (H.FAILED, S.CONNECTING, True): (LEFT, Do.WAIT, S.RECONNECTING),
    (H.FAILED, S.CONNECTING, False): (NO_ATTEMPTS, Do.GIVE_UP, S.ERROR),
    (H.DROPPED, S.CONNECTED, True): (LEFT, Do.WAIT, S.RECONNECTING),
    (H.DROPPED, S.CONNECTED, False): (NO_ATTEMPTS, Do.GIVE_UP, S.ERROR),
    (H.WAITED, S.RECONNECTING, None): (LEFT, Do.OPEN, S.CONNECTING),
    (H.REFUSED, S.CONNECTING, True): (REFRESH, Do.REFRESH, S.RECONNECTING),
    (H.REFUSED, S.CONNECTING, False): (NO_REFRESH, Do.STOP, S.ERROR),
    (H.REFUSED, S.CONNECTED, True): (REFRESH, Do.REFRESH, S.RECONNECTING),
    (H.REFUSED, S.CONNECTED, False): (NO_REFRESH, Do.STOP, S.ERROR),
    (H.REFRESHED, S.RECONNECTING, None): (REFRESH, Do.OPEN, S.CONNECTING),
    (H.FATAL, S.CONNECTING, None): (LEFT, Do.STOP, S.ERROR),
    (H.FATAL, S.CONNECTED, None): (LEFT, Do.STOP, S.ERROR),
    (H.FATAL, S.RECONNECTING, None): (LEFT, Do.STOP, S.ERROR),
    (H.ENDED, S.CONNECTING, None): (LEFT, Do.STOP, S.DISCONNECTED),
    (H.ENDED, S.CONNECTED, None): (LEFT, Do.STOP, S.DISCONNECTED),
    (H.CLOSED, S.DISCONNECTED, None): (LEFT, Do.STOP, S.DISCONNECTED),
    (H.CLOSED, S.CONNECTING, None): (LEFT, Do.STOP, S.DISCONNECTED),
    (H.CLOSED, S.CONNECTED, None): (LEFT, Do.STOP, S.DISCONNECTED),
    (H.CLOSED, S.RECONNECTING, None): (LEFT, Do.STOP, S.DISCONNECTED),
    (H.CLOSED, S.ERROR, None): (LEFT, Do.STOP, S.DISCONNECTED),
}


def test_every_row_has_a_case() -> None:
    assert set(ROWS) == set(TABLE)


@pytest.mark.parametrize("key", list(ROWS), ids=lambda k: f"{k[0].value}-{k[1].value}-{k[2]}")
def test_each_row_decides_and_moves_the_state(key) -> None:
    happened, state, budget = key
    options, do, next_state = ROWS[key]
    c = in_state(state, **options)
    assert c.budget(happened) == budget
    decision = c.step(happened, now=1.0, reason="why", status=499)
    assert (decision.do, decision.state, c.state) == (do, next_state, next_state)
    assert decision.happened is happened and decision.status == 499
    assert "why" in decision.reason
    assert c.last == decision
    assert decision.final == (do in (Do.STOP, Do.GIVE_UP))


def test_every_row_moves_along_a_legal_transition() -> None:
    for (_happened, state, _budget), (_do, next_state) in TABLE.items():
        assert next_state == state or next_state in TRANSITIONS[state]


def test_an_outcome_with_no_row_is_a_driver_bug() -> None:
    c = in_state(S.CONNECTED)
    with pytest.raises(IllegalTransition, match="no rule for 'opened' in state connected"):
        c.step(H.OPENED, now=0.0)
    with pytest.raises(IllegalTransition, match="'waited' in state disconnected"):
        core().step(H.WAITED, now=0.0)


# -- the bookkeeping behind the rows ------------------------------------------------------------
def test_failures_number_attempts_plan_the_policy_and_record_planned_and_actual_waits() -> None:
    c = core(max_attempts=3)
    c.step(H.START, now=0.0)
    assert c.timeline.of_kind(BACKOFF, ATTEMPT) == []  # the first connect is no retry
    now, planned = 0.0, []
    for _ in range(3):
        wait = c.step(H.FAILED, now=now, reason="refused")
        assert wait.do is Do.WAIT and wait.reason == "refused"
        planned.append(wait.delay)
        now += wait.delay + 0.25  # the wait overran a little
        opening = c.step(H.WAITED, now=now)
        assert opening.do is Do.OPEN and opening.attempt == wait.attempt
    assert planned == [1.0, 2.0, 4.0]
    assert [e.attempt for e in c.timeline.of_kind(BACKOFF)] == [1, 2, 3]
    assert [(e.delay, e.actual) for e in c.timeline.of_kind(ATTEMPT)] == [
        (1.0, 1.25), (2.0, 2.25), (4.0, 4.25)]
    gave_up = c.step(H.FAILED, now=now, reason="refused")
    assert gave_up.do is Do.GIVE_UP
    assert gave_up.reason == "gave up after 3 reconnect attempts: refused"
    assert c.timeline.events[-1].detail == gave_up.reason  # the state change says why


def test_an_opened_session_restarts_numbering_and_the_policy() -> None:
    c = core()
    c.step(H.START, now=0.0)
    assert c.step(H.FAILED, now=0.0).delay == 1.0
    c.step(H.WAITED, now=1.0)
    assert c.step(H.FAILED, now=1.0).delay == 2.0
    c.step(H.WAITED, now=3.0)
    c.step(H.OPENED, now=3.0)
    again = c.step(H.DROPPED, now=9.0)
    assert (again.attempt, again.delay) == (1, 1.0)


def test_a_server_delay_is_exact_for_attempt_one_then_a_floor() -> None:
    c = core(policy=Exponential(base=0.02, cap=1.0), server_delay=0.01)
    c.step(H.START, now=0.0)
    planned = []
    for _ in range(3):
        planned.append(c.step(H.FAILED, now=0.0).delay)
        c.step(H.WAITED, now=0.0)
    assert planned == [0.01, 0.02, 0.04]
    c.server_delay = 0.5  # the server asked for more (``retry: 500``)
    assert c.step(H.FAILED, now=0.0).delay == 0.5  # 0.08 from the policy, floored


def test_refresh_once_then_a_second_refusal_stops() -> None:
    c = core(can_refresh=True)
    c.step(H.START, now=0.0)
    refresh = c.step(H.REFUSED, now=0.0, reason="closed with 4403")
    assert (refresh.do, refresh.attempt) == (Do.REFRESH, 1)
    opening = c.step(H.REFRESHED, now=0.5)
    assert opening.do is Do.OPEN
    [backoff] = c.timeline.of_kind(BACKOFF)
    [attempt] = c.timeline.of_kind(ATTEMPT)
    assert (backoff.delay, backoff.detail) == (0.0, "credentials refreshed: reconnect at once")
    assert (attempt.attempt, attempt.delay, attempt.actual) == (1, 0.0, 0.0)
    stop = c.step(H.REFUSED, now=0.6, reason="closed with 4403")
    assert stop.do is Do.STOP and stop.state is S.ERROR
    assert stop.reason == "closed with 4403 (refused again after a token refresh)"


def test_a_session_that_outlived_the_window_earns_another_refresh() -> None:
    c = core(can_refresh=True, refresh_window=1.0)
    c.step(H.START, now=0.0)
    c.step(H.REFUSED, now=0.0)
    c.step(H.REFRESHED, now=0.0)
    c.step(H.OPENED, now=0.0)
    assert c.step(H.REFUSED, now=0.5).do is Do.STOP  # refused again within the window
    c = core(can_refresh=True, refresh_window=1.0)
    c.step(H.START, now=0.0)
    c.step(H.REFUSED, now=0.0)
    c.step(H.REFRESHED, now=0.0)
    c.step(H.OPENED, now=0.0)
    assert c.step(H.REFUSED, now=1.5).do is Do.REFRESH  # the token expired: refresh again


def test_no_refresh_possible_stops_with_the_reason_unchanged() -> None:
    c = core()
    c.step(H.START, now=0.0)
    stop = c.step(H.REFUSED, now=0.0, reason="credentials refused: bad token")
    assert (stop.do, stop.reason) == (Do.STOP, "credentials refused: bad token")


def test_a_new_start_forgets_the_previous_life() -> None:
    c = core(max_attempts=1, can_refresh=True)
    c.step(H.START, now=0.0)
    c.step(H.REFUSED, now=0.0)
    c.step(H.REFRESHED, now=0.0)
    # attempt 1 was the reconnect with fresh credentials: max_attempts is spent
    assert c.step(H.FAILED, now=0.0).do is Do.GIVE_UP
    c.step(H.START, now=5.0)  # a new subscription starts the link again
    again = c.step(H.FAILED, now=5.0)
    assert (again.do, again.attempt, again.delay) == (Do.WAIT, 1, 1.0)
    c.step(H.WAITED, now=6.0)
    assert c.step(H.REFUSED, now=6.0).do is Do.REFRESH  # the refresh budget is back too


def test_a_constant_policy_and_no_max_attempts_never_give_up() -> None:
    c = core(policy=Constant(0.1))
    c.step(H.START, now=0.0)
    for n in range(1, 200):
        assert c.step(H.FAILED, now=0.0).attempt == n
        c.step(H.WAITED, now=0.0)


def test_knobs_are_validated() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        core(max_attempts=-1)
    with pytest.raises(ValueError, match="refresh_window"):
        core(refresh_window=-1)


def test_table_rows_print_every_row() -> None:
    rows = table_rows()
    assert len(rows) == len(TABLE)
    assert ("failed", "connecting", "spent", "give up", "error") in rows
    assert ("refused", "connected", "left", "refresh", "reconnecting") in rows


@pytest.mark.parametrize(("status", "happened"), [
    (500, H.FAILED), (502, H.FAILED), (503, H.FAILED), (599, H.FAILED),
    (408, H.FAILED), (429, H.FAILED),
    (400, H.FATAL), (401, H.FATAL), (403, H.FATAL), (404, H.FATAL), (426, H.FATAL),
    (200, H.FATAL), (302, H.FATAL),
])
def test_only_408_429_and_5xx_answers_are_worth_a_retry(status: int, happened: Happened) -> None:
    assert status_outcome(status) is happened
