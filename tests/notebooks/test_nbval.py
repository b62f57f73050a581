"""Every notebook runs top to bottom under nbval, each within 20 s, the course within 120 s
(the exercises within 10 s each on average).

Equivalent to ``pytest --nbval-lax --nbval-current-env notebooks/`` (see DESIGN.md), one
notebook per subprocess so a failure names its notebook and each one is timed. The
measured time is the whole subprocess: pytest start, kernel start and every cell.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SANITIZE = HERE / "sanitize.cfg"
REAPER = HERE.parent / "reaper.py"
ARTIFACTS = REPO / "test-artifacts" / "notebooks"
PER_NOTEBOOK_S = 20.0
COURSE_S = 120.0  # the chapter notebooks together
EXERCISE_AVG_S = 10.0  # the exercise notebooks: 10 s each on average
HARD_TIMEOUT_S = 90.0  # kill a hung run well before pytest-timeout (120 s)

MAX_REPORT_CHARS = 12_000
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

_durations: dict[str, float] = {}


def run_nbval(notebook: Path, home: Path | None = None) -> tuple[int, str, float]:
    """Run nbval on one notebook; with ``home``, as if that empty dir were ``$HOME``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    if home is not None:
        env["HOME"] = str(home)
    cmd = [
        sys.executable, str(REAPER),  # reports what the notebook left running
        sys.executable, "-m", "pytest",
        "-p", "no:cacheprovider",
        "-p", "nbval_plugin",
        "--nbval-lax",
        "--nbval-current-env",
        f"--nbval-sanitize-with={SANITIZE}",
        f"--nbval-cell-timeout={PER_NOTEBOOK_S:g}",
        "-q", "-rfE", "--color=no", "--no-header",
        str(notebook),
    ]  # fmt: skip
    start = time.monotonic()
    # Its own process group, so a hung run can be interrupted as a whole.
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=HARD_TIMEOUT_S)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        _stop_group(proc)
        output, _ = proc.communicate()
        output = f"nbval did not finish in {HARD_TIMEOUT_S:g} s\n{output}"
        rc = -1
    seconds = time.monotonic() - start
    if "rtlab-reaper: left running" in output:
        output += (
            "\nthe notebook left processes running after its kernel died (nbval SIGKILLs "
            "the kernel: what a notebook starts must die with it, e.g. PR_SET_PDEATHSIG)"
        )
    return rc, ANSI.sub("", output)[-MAX_REPORT_CHARS:], seconds


def _stop_group(proc: subprocess.Popen) -> None:
    """Interrupt the run (pytest tears nbval's kernel down), then kill what is left."""
    for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _save_timings() -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "nbval-timings.json").write_text(
        json.dumps(_durations, indent=2, sort_keys=True) + "\n", "utf-8"
    )


def test_notebook_runs_under_nbval(any_notebook, require_notebook, tmp_path):
    notebook = require_notebook(any_notebook)
    home = tmp_path / "home"
    home.mkdir()
    rc, output, seconds = run_nbval(notebook, home=home)
    _durations[_key(notebook)] = round(seconds, 2)
    _save_timings()
    print(f"{notebook.name}: {seconds:.1f} s under nbval")
    assert rc == 0, f"nbval failed on {notebook} (exit {rc}, {seconds:.1f} s):\n{output}"
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert not written, f"{notebook.name} wrote into $HOME: {written}"
    assert seconds <= PER_NOTEBOOK_S, (
        f"{notebook.name} took {seconds:.1f} s under nbval (limit {PER_NOTEBOOK_S:g} s)"
    )


def _key(notebook: Path) -> str:
    return f"{notebook.parent.name}/{notebook.name}"


def _budget(notebooks: list[Path], limit: float, what: str) -> None:
    missing = [_key(p) for p in notebooks if _key(p) not in _durations]
    if missing:
        pytest.skip(f"not all notebooks ran in this session (missing {', '.join(missing)})")
    total = sum(_durations[_key(p)] for p in notebooks)
    print(f"{what}: {total:.1f} s under nbval ({len(notebooks)} notebooks)")
    assert total <= limit, f"{what} took {total:.1f} s under nbval (limit {limit:g} s)"


def test_course_runs_within_budget(all_notebooks, require_notebook):
    """Runs after the per-notebook tests (file order); sums what they measured for the
    chapter notebooks (what a student runs through, DESIGN's "the whole course ≤ 120 s")."""
    require_notebook(all_notebooks[0] if all_notebooks else None)
    course = [p for p in all_notebooks if p.parent.name != "exercises"]
    _budget(course, COURSE_S, "the course")


def test_exercises_run_within_budget(all_notebooks):
    """The exercise notebooks have their own budget (each is also held to 20 s above): a few
    seconds of checks on top of a kernel and a server each."""
    exercises = [p for p in all_notebooks if p.parent.name == "exercises"]
    if not exercises:
        pytest.skip("no exercise notebooks")
    _budget(exercises, EXERCISE_AVG_S * len(exercises), "the exercises")
