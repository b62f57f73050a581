"""The exercise checks fail in one readable line, and the score table adds up."""

from __future__ import annotations

import asyncio
import csv

import pytest

from rtlab.exercises import check, grading


def failure(fn, *args, **kwargs) -> str:
    with pytest.raises(check.CheckFailed) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_failure_renders_as_one_line_without_a_traceback() -> None:
    exc = check.CheckFailed("delays: expected [1], got [2]")
    assert isinstance(exc, AssertionError)  # nbgrader: an error output, so no points
    [line] = exc._render_traceback_()
    assert "✗ delays: expected [1], got [2]" in line


def test_equal_names_what_was_expected_and_what_came() -> None:
    message = failure(check.equal, [1, 2], [1, 3], what="delays")
    assert message == "delays: expected [1, 3], got [1, 2]"
    assert "no answer yet" in failure(check.equal, ..., [1], what="delays")
    check.equal(None, None, what="a function that should return None")


def test_close_accepts_ints_for_floats_and_refuses_other_lengths() -> None:
    check.close([1, 2], [1.0, 2.0], what="delays")
    assert "expected [1.0, 2.0, 4.0]" in failure(check.close, [1, 2], [1.0, 2.0, 4.0], what="d")
    assert "got 'x'" in failure(check.close, "x", 1.0, what="d")


def test_bounds_name_the_position_that_left_them() -> None:
    check.all_between([0.1, 0.3], 0, lambda n: 0.2 * n, what="delay")
    message = failure(check.all_between, [0.1, 0.5], 0, lambda n: 0.2 * n, what="delay")
    assert message == "delay #2: expected a number from 0 to 0.4, got 0.5"


def test_run_turns_a_stub_and_a_crash_into_one_line() -> None:
    def stub() -> None:
        raise NotImplementedError()

    def crash() -> None:
        raise KeyError("data")

    assert "stub is not written yet" in failure(check.run, stub, what="stub")
    assert failure(check.run, crash, what="crash()") == "crash() raised KeyError: 'data'"
    assert check.run(lambda x: x + 1, 1) == 2


async def test_within_time_reports_a_hang_and_passes_results_through() -> None:
    assert await check.within_time(asyncio.sleep(0, result=7), 1, what="quick") == 7
    with pytest.raises(check.CheckFailed, match="slow did not finish within 0.05 s"):
        await check.within_time(asyncio.sleep(5), 0.05, what="slow")


async def test_raises_tells_a_timeout_error_from_a_hang() -> None:
    async def gives_up() -> None:
        raise TimeoutError("no ack")

    async def answers() -> int:
        return 1

    exc = await check.raises(gives_up(), TimeoutError, 1, what="call")
    assert str(exc) == "no ack"
    with pytest.raises(check.CheckFailed, match="still waiting"):
        await check.raises(asyncio.sleep(5), TimeoutError, 0.05, what="call")
    with pytest.raises(check.CheckFailed, match="but it returned 1"):
        await check.raises(answers(), TimeoutError, 1, what="call")


async def test_eventually_says_what_it_saw() -> None:
    seen: list[int] = []
    asyncio.get_running_loop().call_later(0.05, seen.append, 1)
    await check.eventually(lambda: seen == [1], 2, what="one item")
    with pytest.raises(check.CheckFailed, match=r"two items: not within 0.05 s, got \[1\]"):
        await check.eventually(lambda: len(seen) == 2, 0.05, what="two items", got=lambda: seen)


SCORES = [
    grading.Score("ada", "04-websockets-exercises", "ex1-check", 2, 2, False),
    grading.Score("ada", "04-websockets-exercises", "ex4-answer", None, 2, True),
    grading.Score("bob", "04-websockets-exercises", "ex1-check", 0, 2, False),
    grading.Score("bob", "04-websockets-exercises", "ex4-answer", 1.5, 2, True),
]


def test_table_is_students_by_exercises_with_totals(tmp_path) -> None:
    text = grading.format_table(SCORES).splitlines()
    assert text[0].split() == ["student", "04.1", "04.4", "auto", "manual"]
    assert text[1].split() == ["ada", "2/2", "?/2", "2/2", "?/2"]
    assert text[2].split() == ["bob", "0/2", "1.5/2", "0/2", "-"]
    path = tmp_path / "grades.csv"
    grading.write_csv(path, SCORES)
    rows = list(csv.reader(path.open()))
    assert rows == [
        ["student", "04.1", "04.4", "auto", "auto_max", "manual_pending"],
        ["ada", "2", "", "2", "2", "2"],
        ["bob", "0", "1.5", "0", "2", "0"],
    ]
