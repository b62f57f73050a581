"""Every code cell can be run a second time, right after its first run, without an error.

A student re-runs cells: to see it again, after a typo, after a chaos button. Here each code
cell of a notebook runs twice in a row, in one kernel, in order (nbclient, as
``tools/refresh_notebooks.py`` does); any error output fails the test and names the cell and
the run. Outputs are not compared: a second run may print other numbers, it must not fail.

Two notebooks by default (the lab tour, and the one that kills its server mid-way), within
the nbval budget of 20 s each, doubled; ``RTLAB_RERUN_NOTEBOOKS=all`` (or a comma-separated
list of names) runs others too.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from rtlab.labapp import NOTEBOOKS, isolation_env

DEFAULT = ("00-welcome", "04-websockets")
PER_NOTEBOOK_S = 2 * 20.0  # every cell twice: twice the nbval budget
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "notebooks"


def chosen() -> list[Path]:
    wanted = os.environ.get("RTLAB_RERUN_NOTEBOOKS", ",".join(DEFAULT))
    root = Path(os.environ.get("RTLAB_NOTEBOOKS_DIR") or NOTEBOOKS)
    every = sorted(root.glob("*.ipynb"))
    if wanted.strip() == "all":
        return every
    names = {name.strip() for name in wanted.split(",") if name.strip()}
    return [p for p in every if p.stem in names]


def first_line(cell) -> str:
    lines = [line for line in cell.source.splitlines() if not line.startswith("#")]
    return (lines[0] if lines else cell.source.splitlines()[0])[:60]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("notebook", chosen(), ids=lambda p: p.stem)
def test_every_code_cell_runs_twice(notebook: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**isolation_env(), "HOME": str(home)}
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}})
    failures: list[str] = []
    cells = 0
    started = time.monotonic()
    with client.setup_kernel(env=env):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cells += 1
            for run in (1, 2):
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError as exc:
                    last = str(exc).strip().splitlines()[-1:] or [repr(exc)]
                    failures.append(f"cell {index} ({first_line(cell)!r}), run {run}: {last[0]}")
                    break
    seconds = time.monotonic() - started
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    timings = ARTIFACTS / "rerun-timings.json"
    recorded = json.loads(timings.read_text()) if timings.exists() else {}
    recorded[notebook.name] = round(seconds, 2)
    timings.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
    assert cells > 0
    assert not failures, f"{notebook.name}: cells that fail when run again:\n  " + "\n  ".join(
        failures)
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert not written, f"{notebook.name} wrote into $HOME: {written}"
    assert seconds <= PER_NOTEBOOK_S, (
        f"{notebook.name}: every cell twice took {seconds:.1f} s (limit {PER_NOTEBOOK_S:g} s)")


def test_there_is_something_to_run_twice() -> None:
    assert chosen(), "no notebook chosen for the re-run test (RTLAB_RERUN_NOTEBOOKS?)"
