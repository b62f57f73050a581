"""Grading with nbgrader, made safe for a class, and the score table it produces.

nbgrader's ``Execute`` already interrupts a cell that outlives its timeout (an infinite loop
fails that cell and grading goes on). A kernel that *dies* (``os._exit``, a segfault, the
memory killer) is another matter: nbclient raises ``DeadKernelError``, nbgrader drops the
whole submission, and the cells that never ran would have no error output, which nbgrader
scores as a pass. :class:`BoundedExecute` fails the cell the kernel died in and every code
cell after it, so a submission gets its points for what ran and zero for the rest.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import Execute


def _error(name: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=message,
                        traceback=[f"{name}: {message}"])


class BoundedExecute(Execute):
    """nbgrader's ``Execute``; after the kernel dies, no cell passes by not running."""

    _died_in: int | None = None

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        self._died_in = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        if self._died_in is not None:
            if cell.cell_type == "code":
                message = f"not run: the kernel died in cell {self._died_in}"
                cell.outputs = [_error("NotRun", message)]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._died_in = index
            self.log.warning("kernel died in cell %d; the cells after it fail as not run", index)
            cell.outputs.append(_error("DeadKernelError", "the kernel died running this cell"))
            return cell, resources


@dataclass(frozen=True)
class Score:
    """One graded cell of one student's notebook."""

    student: str
    notebook: str
    cell: str
    score: float | None  # None: waiting for manual grading
    max_score: float
    manual: bool


def read_scores(db_url: str, assignment: str = "exercises") -> list[Score]:
    """Every graded cell of every submission in nbgrader's gradebook."""
    scores = []
    with Gradebook(db_url) as gb:
        for submission in gb.assignment_submissions(assignment):
            for nb in submission.notebooks:
                for grade in nb.grades:
                    manual = grade.cell_type == "markdown"
                    score = grade.score if not (manual and grade.needs_manual_grade) else None
                    scores.append(Score(submission.student.id, nb.name, grade.name, score,
                                        grade.max_score, manual))
    return sorted(scores, key=lambda s: (s.student, s.notebook, s.cell))


def exercise_label(notebook: str, cell: str) -> str:
    """``04-websockets-exercises`` + ``ex2-check`` -> ``04.2``."""
    number = cell.removeprefix("ex").split("-", 1)[0]
    return f"{notebook[:2]}.{number}"


def table(scores: Sequence[Score]) -> tuple[list[str], list[list[Score | None]]]:
    """Students × graded cells: a header of exercise labels and one row of scores per student."""
    students = sorted({s.student for s in scores})
    columns = sorted({(s.notebook, s.cell) for s in scores})
    by_key = {(s.student, s.notebook, s.cell): s for s in scores}
    header = [exercise_label(n, c) for n, c in columns]
    return header, [[by_key.get((st, n, c)) for n, c in columns] for st in students]


def totals(row: Sequence[Score | None]) -> tuple[float, float, float]:
    """Auto-graded points, their maximum, and the points waiting for manual grading."""
    auto = sum(s.score or 0.0 for s in row if s is not None and not s.manual)
    auto_max = sum(s.max_score for s in row if s is not None and not s.manual)
    manual = sum(s.max_score for s in row if s is not None and s.manual and s.score is None)
    return auto, auto_max, manual


def _num(x: float) -> str:
    return f"{x:g}"


def _cell(s: Score | None) -> str:
    if s is None:
        return "-"
    return f"{'?' if s.score is None else _num(s.score)}/{_num(s.max_score)}"


def format_table(scores: Sequence[Score]) -> str:
    """The table as text: ``3/3`` a score, ``?/2`` waiting for manual grading, ``-`` not graded."""
    header, rows = table(scores)
    students = sorted({s.student for s in scores})
    lines = [["student", *header, "auto", "manual"]]
    for student, row in zip(students, rows, strict=True):
        auto, auto_max, manual = totals(row)
        lines.append([student, *map(_cell, row), f"{_num(auto)}/{_num(auto_max)}",
                      f"?/{_num(manual)}" if manual else "-"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(
            line, widths, strict=True))) for line in lines)


def write_csv(path: Path, scores: Sequence[Score]) -> None:
    """The same table as CSV: one row per student, one column per exercise (its points, empty
    while waiting for manual grading), then the auto-graded total and its maximum."""
    header, rows = table(scores)
    students = sorted({s.student for s in scores})
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["student", *header, "auto", "auto_max", "manual_pending"])
        for student, row in zip(students, rows, strict=True):
            auto, auto_max, manual = totals(row)
            out.writerow([student, *("" if s is None or s.score is None else _num(s.score)
                                     for s in row), _num(auto), _num(auto_max), _num(manual)])
