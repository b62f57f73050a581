"""``python -m rtlab.exercises student`` / ``grade SUBMISSIONS``: what ``make student`` and
``make grade`` run. Both drive nbgrader's own commands with the repository's
``nbgrader_config.py``; this module only lays out folders and prints the table.

A submissions folder holds one folder per student, named by the student's id, with their
exercise notebooks in it (``SUBMISSIONS/ada/04-websockets-exercises.ipynb``). Each student is
graded by a separate ``nbgrader autograde`` process: every notebook in a fresh kernel, every
kernel with its own demo server. A cell that runs past ``--cell-timeout`` is interrupted, a
kernel that dies fails what did not run, and a process that still outlives
``--student-timeout`` is killed: that student gets zero for what was not graded, and the
others are graded all the same.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from rtlab.exercises import grading

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "exercises"


def _nbgrader(args: list[str], course: Path, cell_timeout: float | None = None,
              timeout: float | None = None) -> int:
    env = dict(os.environ, RTLAB_COURSE_DIR=str(course))
    # nbgrader runs `alembic` by name when it opens the gradebook: it must find the venv's.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    # nbgrader 0.9 trips SQLAlchemy 2's autoflush warnings on every submission: noise, not news.
    env["PYTHONWARNINGS"] = "ignore:Object of type"
    if cell_timeout is not None:
        env["RTLAB_CELL_TIMEOUT"] = str(int(cell_timeout))
    cmd = [sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, start_new_session=True)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"nbgrader {' '.join(args)}: still running after {timeout:g} s, killed",
              file=sys.stderr)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return -signal.SIGKILL


def student(course: Path) -> Path:
    """Student copies (solutions stubbed, hidden tests removed) in ``course/release/exercises``."""
    course.mkdir(parents=True, exist_ok=True)
    rc = _nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course)
    if rc != 0:
        raise SystemExit(f"nbgrader generate_assignment failed (exit {rc})")
    return course / "release" / ASSIGNMENT


def collect(submissions: Path, course: Path) -> list[str]:
    """Copy ``SUBMISSIONS/<student>/*.ipynb`` to nbgrader's ``submitted/<student>/exercises``."""
    students = []
    for folder in sorted(p for p in submissions.iterdir() if p.is_dir()):
        notebooks = sorted(folder.glob("*.ipynb"))
        if not notebooks:
            continue
        target = course / "submitted" / folder.name / ASSIGNMENT
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for notebook in notebooks:
            shutil.copy(notebook, target / notebook.name)
        students.append(folder.name)
    if not students:
        raise SystemExit(f"no submissions in {submissions}: expected <student>/*.ipynb")
    return students


def grade(submissions: Path, course: Path, csv_path: Path, notebooks: str = "*",
          cell_timeout: float = 30, student_timeout: float = 600) -> list[grading.Score]:
    student(course)  # the gradebook learns the assignment's cells and points from the source
    students = collect(submissions, course)
    for name in students:
        print(f"grading {name} ...", flush=True)
        _nbgrader(["autograde", ASSIGNMENT, f"--student={name}", f"--notebook={notebooks}",
                   "--force"], course, cell_timeout, student_timeout)
    scores = [s for s in grading.read_scores(f"sqlite:///{course / 'gradebook.db'}", ASSIGNMENT)
              if s.student in students]
    print(grading.format_table(scores))
    grading.write_csv(csv_path, scores)
    print(f"wrote {csv_path}")
    return scores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rtlab.exercises", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=REPO / "course",
                        help="nbgrader's course directory (default: course/, git-ignored)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("student", help="write the student copies")
    g = sub.add_parser("grade", help="autograde a folder of submissions")
    g.add_argument("submissions", type=Path, help="SUBMISSIONS/<student>/*.ipynb")
    g.add_argument("--csv", type=Path, default=None, help="default: COURSE/grades.csv")
    g.add_argument("--notebooks", default="*", help="only these notebooks (a glob)")
    g.add_argument("--cell-timeout", type=float, default=30)
    g.add_argument("--student-timeout", type=float, default=600)
    args = parser.parse_args(argv)
    course = args.course.resolve()
    if args.command == "student":
        print(f"student copies in {student(course)}")
    else:
        grade(args.submissions.resolve(), course, (args.csv or course / "grades.csv").resolve(),
              args.notebooks, args.cell_timeout, args.student_timeout)


if __name__ == "__main__":
    main()
