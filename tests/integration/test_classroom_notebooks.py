"""Every chapter notebook runs unchanged against one classroom server, as a class runs them:
``RTLAB_SERVER`` makes ``lab.start()`` return the classroom's handle (``kill``/``restart``/
``freeze`` done by their scoped equivalents), each notebook is run by two students at the
same time, and a simulated class stays connected throughout.

Outputs are not compared here: on a shared server ids, counts and names move with what the
others do. ``tests/notebooks/test_nbval.py`` keeps checking them against a private server.
What is asserted: no cell raises or hangs, each notebook really used this server, and
nobody else's links were broken by the notebooks' (scoped) chaos.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from rtlab.state import ConnectionState
from rtlab.teaching.simclass import SimulatedClass

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE.parent.parent / "notebooks"
#: every chapter notebook, 08 included once it lands
CHAPTERS = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
STUDENTS = 2  # who run each notebook at the same time
CLASS = 12  # simulated students connected while the notebooks run
CELL_TIMEOUT_S = 60  # a cell that hangs fails, it does not stall the test (08's fault
# matrix starts 6 servers per student, 12 at once here: 14 s alone, over 30 s on a loaded machine)
MAX_REPORT_CHARS = 3000


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


support = _load("classroom_support", HERE / "classroom_support.py")
nbval = _load("nbval_runner", HERE.parent / "notebooks" / "test_nbval.py")
classroom = support.classroom  # fixture


@dataclass
class Run:
    notebook: str
    student: str
    seconds: float
    error: str | None


async def run(path: Path, student: str, join_url: str) -> Run:
    """``path`` top to bottom in a fresh kernel whose ``RTLAB_SERVER`` is the classroom."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    env = {**os.environ, "RTLAB_SERVER": join_url, "RTLAB_NAME": student}
    started = time.monotonic()
    error = None
    try:
        await client.async_execute(env=env)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        error = f"{type(exc).__name__}: {str(exc)[-MAX_REPORT_CHARS:]}"
    return Run(path.stem, student, time.monotonic() - started, error)


async def seen_by(teacher) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=5) as http:
        return (await http.get(teacher.http_url("/_classroom/stats"))).json()["seen"]


@pytest.mark.timeout(600)
async def test_every_chapter_notebook_runs_on_one_classroom_server_two_students_at_once(
        classroom) -> None:
    assert len(CHAPTERS) >= 8, CHAPTERS
    join_url = f"{classroom.base}/?join={support.JOIN}"
    sims = SimulatedClass(join_url, n=CLASS, prefix="sim")
    await sims.join(timeout=30)
    runs: list[Run] = []
    try:
        for path in CHAPTERS:
            runs += await asyncio.gather(*(
                run(path, f"nb{path.name[:2]}s{n}", join_url) for n in range(STUDENTS)))
        seen = await seen_by(classroom.instructor())
        states = sims.states()
        reconnected = [s.name for s in sims.students
                       if s.client.timeline.states().count(ConnectionState.CONNECTED) != 1]
    finally:
        await sims.leave()
    print("\n".join(f"{r.notebook:<32} {r.student:<8} {r.seconds:5.1f} s"
                    f"{'  FAILED' if r.error else ''}" for r in runs))
    failed = [f"{r.notebook} ({r.student}): {r.error}" for r in runs if r.error]
    assert not failed, "\n\n".join(failed)
    unseen = [r.student for r in runs if not any(c.startswith(f"{r.student}-") for c in seen)]
    assert not unseen, f"never reached the classroom server: {unseen}"
    assert states == {"connected": CLASS}, states
    assert not reconnected, f"the notebooks' chaos reached other students: {reconnected}"


def test_the_instructor_notebook_rehearses_with_a_simulated_class(monkeypatch) -> None:
    """No RTLAB_INSTRUCTOR: it starts its own classroom server on 127.0.0.1, thirty simulated
    students join, it chats, restarts for everyone and draws the herd (checked outputs)."""
    for name in ("RTLAB_SERVER", "RTLAB_INSTRUCTOR"):
        monkeypatch.delenv(name, raising=False)
    rc, output, seconds = nbval.run_nbval(NOTEBOOKS / "instructor" / "classroom.ipynb")
    assert rc == 0, output[-nbval.MAX_REPORT_CHARS:]
    assert seconds < nbval.PER_NOTEBOOK_S
