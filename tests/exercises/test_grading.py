"""Student copies and grading, end to end, with nbgrader itself (``python -m rtlab.exercises``).

One grading run (module fixture) on three submissions:

* ``broken``: the solutions, except that in 04 one answer loops forever and a later one
  calls ``os._exit(1)`` (its other notebooks are the solutions);
* ``full``: the instructor copies, solutions in;
* ``stub``: the student copies exactly as ``student`` writes them.

``broken`` sorts first, so the others are graded after its hang and its dead kernel.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from rtlab.exercises import grading

pytestmark = pytest.mark.timeout(600)

REPO = Path(__file__).resolve().parents[2]
EXERCISES = REPO / "notebooks" / "exercises"
CELL_TIMEOUT = 15  # a solution's slowest cell takes ~4 s; the machine may be busy
GRADE_BUDGET_S = 300  # a hang costs one cell timeout; the rest is kernels and servers
REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _sources() -> list[Path]:
    paths = sorted(EXERCISES.glob("*.ipynb"))
    assert paths, f"no exercise notebooks in {EXERCISES}"
    return paths


def _cli(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rtlab.exercises", *args], cwd=REPO, capture_output=True,
        text=True, timeout=timeout, env=dict(os.environ),
    )


def _broken(source: Path, target: Path) -> None:
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        if _meta(cell).get("grade_id") == "ex1-answer":
            cell.source = "while True:\n    pass"
        if _meta(cell).get("grade_id") == "ex3-answer":
            cell.source = "import os\nos._exit(1)"
    nbformat.write(nb, target)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("course")
    made = _cli("--course", str(course), "student", timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    return course


@pytest.fixture(scope="module")
def graded(course: Path, tmp_path_factory) -> dict:
    submissions = tmp_path_factory.mktemp("submissions")
    release = course / "release" / "exercises"
    for student in ("broken", "full", "stub"):
        (submissions / student).mkdir()
    for source in _sources():
        (submissions / "full" / source.name).write_bytes(source.read_bytes())
        (submissions / "stub" / source.name).write_bytes((release / source.name).read_bytes())
    for name in ("04-websockets-exercises.ipynb", "06-server-sent-events-exercises.ipynb"):
        target = submissions / "broken" / name
        if name.startswith("04"):
            _broken(EXERCISES / name, target)
        else:
            target.write_bytes((EXERCISES / name).read_bytes())
    csv_path = course / "grades.csv"
    started = time.monotonic()
    run = _cli("--course", str(course), "grade", str(submissions), "--csv", str(csv_path),
               "--cell-timeout", str(CELL_TIMEOUT), timeout=GRADE_BUDGET_S + 60)
    seconds = time.monotonic() - started
    print(run.stdout[-6000:])
    print(f"graded 3 submissions in {seconds:.1f} s")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    scores = grading.read_scores(f"sqlite:///{course / 'gradebook.db'}")
    return {"scores": scores, "stdout": run.stdout, "seconds": seconds, "csv": csv_path,
            "autograded": course / "autograded"}


def _auto(scores, student: str, notebook_prefix: str = "") -> list[grading.Score]:
    return [s for s in scores if s.student == student and not s.manual
            and s.notebook.startswith(notebook_prefix)]


def test_student_copies_hold_no_solution_text(course: Path) -> None:
    release = course / "release" / "exercises"
    for source in _sources():
        copy = (release / source.name).read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in copy and "HIDDEN TESTS" not in copy, source.name
        assert "Rubric" not in copy, f"{source.name}: a rubric reached the student copy"
        cells = nbformat.read(source, as_version=4).cells
        public = "\n".join(REGION.sub("", cell.source) for cell in cells)  # hints quote code
        for cell in cells:
            for _kind, region in REGION.findall(cell.source):
                for line in map(str.strip, region.splitlines()):
                    if len(line) > 12 and line not in public:  # distinctive, not `return x`
                        assert line not in copy, f"{source.name}: {line!r}"


def test_every_exercise_notebook_has_four_kinds_of_exercise() -> None:
    for source in _sources():
        cells = nbformat.read(source, as_version=4).cells
        checks = [c for c in cells if _meta(c).get("grade") and c.cell_type == "code"]
        explains = [c for c in cells if _meta(c).get("grade") and c.cell_type == "markdown"]
        hidden = [c for c in checks if "### BEGIN HIDDEN TESTS" in c.source]
        hints = [c for c in cells if c.cell_type == "markdown" and "<details>" in c.source]
        assert len(checks) >= 3 and explains, f"{source.name}: predict/implement/repair + explain"
        assert hidden, f"{source.name}: no hidden tests"
        assert len(hints) >= 3, f"{source.name}: every coded exercise has a hint"
        assert "lab.start()" in cells[1].source and "lab.stop_all()" in cells[-2].source


def test_solutions_get_full_marks(graded: dict) -> None:
    full = _auto(graded["scores"], "full")
    assert {s.notebook for s in full} == {p.stem for p in _sources()}
    missed = [(s.notebook, s.cell, s.score) for s in full if s.score != s.max_score]
    assert not missed, missed


def test_stubs_fail_every_check_in_one_line_and_every_other_cell_runs(graded: dict) -> None:
    stub = _auto(graded["scores"], "stub")
    assert stub and all(s.score == 0 for s in stub), [(s.cell, s.score) for s in stub]
    for path in sorted((graded["autograded"] / "stub" / "exercises").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code" or _meta(cell).get("solution"):
                continue  # a stubbed answer raises NotImplementedError: that is the point
            errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
            where = f"{path.name} {_meta(cell).get('grade_id')}"
            if _meta(cell).get("grade"):
                assert errors, f"{where}: a check passed against the stub"
                assert errors[0].ename == "CheckFailed", f"{where}: {errors[0].ename}"
                assert "\n" not in errors[0].evalue, f"{where}: not one line"
            else:
                assert not errors, f"{where} failed in the student copy: {errors[0].evalue}"


def test_a_hang_and_a_dead_kernel_cost_only_what_did_not_run(graded: dict) -> None:
    scores = {s.cell: s.score for s in _auto(graded["scores"], "broken", "04")}
    assert scores == {"ex1-check": 0, "ex2-check": 3, "ex3-check": 0, "ex4-check": 0}, scores
    others = _auto(graded["scores"], "broken", "06")
    assert others and all(s.score == s.max_score for s in others)
    assert graded["seconds"] < GRADE_BUDGET_S


def test_the_table_and_the_csv_agree(graded: dict) -> None:
    out = graded["stdout"]
    header = next(line for line in out.splitlines() if line.startswith("student"))
    assert header.split()[1:4] == ["01.1", "01.2", "01.3"]
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.split()[:1] in (["broken"], ["full"], ["stub"])}
    total = sum(s.max_score for s in _auto(graded["scores"], "full"))
    assert rows["full"][-2] == f"{total:g}/{total:g}"
    assert rows["stub"][-2] == f"0/{total:g}"
    lines = graded["csv"].read_text().splitlines()
    assert lines[0].startswith("student,01.1,")
    assert [line.split(",")[0] for line in lines[1:]] == ["broken", "full", "stub"]


def test_student_copies_are_generated_not_committed() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", "course/release/exercises"], cwd=REPO)
    assert ignored.returncode == 0, "course/ (nbgrader's output) must be git-ignored"
