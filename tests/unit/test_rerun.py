"""lab.keep: a cell run again closes what its previous run made, and only that."""

from __future__ import annotations

import pytest

from rtlab import lab, rerun


class Sync:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


class Async:
    def __init__(self) -> None:
        self.closed = 0

    async def close(self) -> None:
        self.closed += 1


class ChapterLike:
    """Has a buggy ``disconnect`` and a real ``dispose``: dispose must win."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def disconnect(self) -> None:
        self.calls.append("disconnect")

    async def dispose(self) -> None:
        self.calls.append("dispose")


class Broken:
    def close(self) -> None:
        raise RuntimeError("already gone")


@pytest.fixture(autouse=True)
def fresh_registry():
    yield
    for name in list(rerun._kept):
        rerun._kept.pop(name)
    rerun.failures.clear()


async def test_a_second_run_closes_the_first_runs_objects() -> None:
    first = lab.keep("cell", Async())
    assert first.closed == 0
    second = lab.keep("cell", Async())
    await lab.closed()
    assert first.closed == 1 and second.closed == 0
    assert lab.kept("cell") == (second,)


async def test_several_objects_and_the_same_object_again() -> None:
    a, b = lab.keep("users", Sync(), Async())
    shared = Sync()
    lab.keep("server", shared)
    lab.keep("server", shared)  # lab.start() hands back the same server: not closed
    c, d = lab.keep("users", Sync(), Async())
    await lab.closed()
    assert (a.closed, b.closed, c.closed, d.closed, shared.closed) == (1, 1, 0, 0, 0)


async def test_dispose_is_preferred_and_failures_are_kept_not_raised() -> None:
    chapter = lab.keep("chapter", ChapterLike())
    lab.keep("chapter", ChapterLike())
    lab.keep("broken", Broken())
    lab.keep("broken", Sync())  # does not raise
    await lab.closed()
    assert chapter.calls == ["dispose"]
    assert [(name, type(exc).__name__) for name, _, exc in rerun.failures] == [
        ("broken", "RuntimeError")]


async def test_forget_closes_and_names_are_independent() -> None:
    one, two = lab.keep("one", Async()), lab.keep("two", Async())
    lab.forget("one")
    await lab.closed()
    assert one.closed == 1 and two.closed == 0 and lab.kept("one") == ()


def test_keep_without_a_loop_closes_at_once() -> None:
    first = lab.keep("script", Async())
    lab.keep("script", Async())
    assert first.closed == 1
    with pytest.raises(TypeError):
        lab.keep("nothing")
