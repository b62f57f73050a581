"""Checks for exercise notebooks: one readable line when they fail, a tick when they pass.

    from rtlab.exercises import check
    check.equal(got, expected, what="planned delays")   # ✗ planned delays: expected ..., got ...
    got = check.run(my_function, 3, what="my_function(3)")  # a stub -> "not written yet"
    await check.within_time(client.start(), 5, what="start()")

A failure raises :class:`CheckFailed`. It is an ``AssertionError`` (nbgrader sees an error
output and gives the cell no points) that IPython shows as its one-line message instead
of a traceback: the student reads what went wrong, not where in rtlab it was noticed.
nbgrader also gives no points to a check cell that writes to stderr, so :func:`setup`
sends log records and warnings to stdout.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

MAX_REPR = 160


class CheckFailed(AssertionError):
    """A check did not pass; the message says what was expected and what happened."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [f"\x1b[0;31m✗ {self}\x1b[0m"]


def setup() -> None:
    """Log records and warnings go to stdout, so a library warning never costs points."""
    root = logging.getLogger()
    if not any(getattr(h, "rtlab_exercises", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.rtlab_exercises = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
        handler.setLevel(logging.WARNING)
        root.addHandler(handler)
    logging.captureWarnings(True)


def show(value: Any) -> str:
    """A short repr for failure messages."""
    text = repr(value)
    return text if len(text) <= MAX_REPR else text[: MAX_REPR - 5] + " …" + text[-4:]


def fail(message: str) -> None:
    raise CheckFailed(message)


def ok(message: str) -> None:
    print(f"✓ {message}")


def that(condition: bool, what: str, got: Any = None) -> None:
    """Fail with ``what`` (and what was seen) unless ``condition`` holds."""
    if not condition:
        fail(what if got is None else f"{what}, got {show(got)}")


def answered(value: Any, what: str) -> None:
    """A prediction was written (not left as ``...`` or None)."""
    if value is None or value is Ellipsis:
        fail(f"{what}: no answer yet: write it in the cell above and run that cell")


def equal(got: Any, expected: Any, what: str) -> None:
    if got is Ellipsis:
        answered(got, what)
    if got != expected:
        fail(f"{what}: expected {show(expected)}, got {show(got)}")


def close(got: Any, expected: float, what: str, tolerance: float = 1e-6) -> None:
    """Numbers (or equal-length lists of numbers) equal within ``tolerance``."""
    if got is Ellipsis:
        answered(got, what)
    pairs = list(zip(got, expected, strict=False)) if isinstance(expected, list) else [
        (got, expected)]
    same_length = not isinstance(expected, list) or (
        isinstance(got, list | tuple) and len(got) == len(expected))
    if not same_length or not all(
        isinstance(g, int | float) and math.isclose(g, e, abs_tol=tolerance) for g, e in pairs
    ):
        fail(f"{what}: expected {show(expected)}, got {show(got)}")


def between(value: Any, low: float, high: float, what: str) -> None:
    if not isinstance(value, int | float) or not low <= value <= high:
        fail(f"{what}: expected a number from {low:g} to {high:g}, got {show(value)}")


def all_between(values: Iterable[Any], low: Callable[[int], float] | float,
                high: Callable[[int], float] | float, what: str) -> None:
    """Each ``values[i]`` within bounds (numbers, or functions of the 1-based position)."""
    for n, value in enumerate(values, start=1):
        lo = low(n) if callable(low) else low
        hi = high(n) if callable(high) else high
        between(value, lo, hi, f"{what} #{n}")


def _not_written(what: str) -> CheckFailed:
    return CheckFailed(f"{what} is not written yet: replace `raise NotImplementedError()` "
                       "with your code and run that cell again")


def run(fn: Callable[..., T], *args: Any, what: str = "", **kwargs: Any) -> T:
    """Call the student's ``fn``; turn a stub or a crash into one readable line."""
    label = what or getattr(fn, "__qualname__", repr(fn))
    try:
        return fn(*args, **kwargs)
    except CheckFailed:
        raise
    except NotImplementedError:
        raise _not_written(label) from None
    except Exception as exc:  # noqa: BLE001 - the student's code may raise anything
        raise CheckFailed(f"{label} raised {type(exc).__name__}: {exc}") from None


async def within_time(awaitable: Awaitable[T], seconds: float, what: str) -> T:
    """Await the student's (or a client's) work, failing in one line on a stub, a crash or
    a wait longer than ``seconds``."""
    try:
        async with asyncio.timeout(seconds) as deadline:
            return await awaitable
    except CheckFailed:
        raise
    except NotImplementedError:
        raise _not_written(what) from None
    except Exception as exc:  # noqa: BLE001 - the student's code may raise anything
        if isinstance(exc, TimeoutError) and deadline.expired():
            raise CheckFailed(f"{what} did not finish within {seconds:g} s") from None
        raise CheckFailed(f"{what} raised {type(exc).__name__}: {exc}") from None


async def eventually(condition: Callable[[], bool], seconds: float, what: str,
                     got: Callable[[], Any] | None = None, every: float = 0.02) -> None:
    """Wait until ``condition()`` holds (for state only observable by asking, e.g. a list a
    student's client fills); fail after ``seconds`` saying what was seen instead."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not run(condition, what=what):
        if loop.time() >= deadline:
            seen = f", got {show(got())}" if got is not None else ""
            fail(f"{what}: not within {seconds:g} s{seen}")
        await asyncio.sleep(every)


async def raises(awaitable: Awaitable[Any], kinds: type[BaseException] | tuple[
        type[BaseException], ...], seconds: float, what: str) -> BaseException:
    """The awaitable must fail with one of ``kinds`` within ``seconds`` (not hang, not pass)."""
    try:
        async with asyncio.timeout(seconds) as deadline:
            result = await awaitable
    except NotImplementedError:
        raise _not_written(what) from None
    except Exception as exc:  # noqa: BLE001
        if isinstance(exc, TimeoutError) and deadline.expired():
            raise CheckFailed(f"{what}: expected {_names(kinds)} within {seconds:g} s, "
                              "but it was still waiting") from None
        if isinstance(exc, kinds):
            return exc
        raise CheckFailed(f"{what}: expected {_names(kinds)}, got {type(exc).__name__}: "
                          f"{exc}") from None
    raise CheckFailed(f"{what}: expected {_names(kinds)}, but it returned {show(result)}")


def _names(kinds: type[BaseException] | tuple[type[BaseException], ...]) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join(k.__name__ for k in kinds)
