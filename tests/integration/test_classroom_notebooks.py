"""Chapter notebooks run unchanged against a classroom server: ``RTLAB_SERVER`` makes
``lab.start()`` return the classroom's handle (``kill``/``restart``/``freeze`` done by their
scoped equivalents), and nbval must pass as it does against a private server."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE.parent.parent / "notebooks"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


support = _load("classroom_support", HERE / "classroom_support.py")
nbval = _load("nbval_runner", HERE.parent / "notebooks" / "test_nbval.py")
classroom = support.classroom  # fixture


@pytest.mark.parametrize("notebook", ["00-welcome", "04-websockets", "06-server-sent-events"])
def test_a_chapter_notebook_runs_unchanged_on_the_classroom_server(classroom, notebook,
                                                                   monkeypatch) -> None:
    monkeypatch.setenv("RTLAB_SERVER", f"{classroom.base}/?join={support.JOIN}")
    monkeypatch.setenv("RTLAB_NAME", "nbval")
    rc, output, seconds = nbval.run_nbval(NOTEBOOKS / f"{notebook}.ipynb")
    assert rc == 0, output[-nbval.MAX_REPORT_CHARS:]
    seen = asyncio.run(_stats(classroom.instructor()))["seen"]
    assert any(c.startswith("nbval-") for c in seen), seen  # it really used this server
    assert seconds < nbval.PER_NOTEBOOK_S * 2


async def _stats(teacher) -> dict:
    async with httpx.AsyncClient(timeout=5) as http:
        return (await http.get(teacher.http_url("/_classroom/stats"))).json()


def test_the_instructor_notebook_rehearses_with_a_simulated_class(monkeypatch) -> None:
    """No RTLAB_INSTRUCTOR: it starts its own classroom server on 127.0.0.1, thirty simulated
    students join, it chats, restarts for everyone and draws the herd (checked outputs)."""
    for name in ("RTLAB_SERVER", "RTLAB_INSTRUCTOR"):
        monkeypatch.delenv(name, raising=False)
    rc, output, seconds = nbval.run_nbval(NOTEBOOKS / "instructor" / "classroom.ipynb")
    assert rc == 0, output[-nbval.MAX_REPORT_CHARS:]
    assert seconds < nbval.PER_NOTEBOOK_S
