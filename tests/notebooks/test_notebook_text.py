"""What a student reads fits the page and points somewhere real.

- Every line of code in a course notebook fits in 88 columns (no sideways scrollbar).
- "section N" in a notebook's prose names a section that notebook has (``## N ·``; an RFC's
  "section 5.5.2" is not one of ours), and
  "Pitfall N" names a pitfall it has (``**Pitfall N``).
- "notebook NN" names a notebook of the course.
"""

from __future__ import annotations

import re

import nbformat

MAX_COLUMNS = 88
SECTION = re.compile(r"^##\s+(\d+)\s+·", re.M)
PITFALL = re.compile(r"\*\*Pitfall (\d+)")
SECTION_REF = re.compile(r"(?<!RFC \d{4}, )\b[Ss]ections? (\d+)(?![.\d])(?:(?:,| and| to) (\d+))?")
PITFALL_REF = re.compile(r"\bPitfalls? (\d+)\b")
NOTEBOOK_REF = re.compile(r"\b[Nn]otebooks? (\d\d)\b")


def read(path):
    with open(path, encoding="utf-8") as f:
        return nbformat.read(f, as_version=4)


def test_code_lines_fit_in_88_columns(course_notebook, require_notebook) -> None:
    nb = read(require_notebook(course_notebook))
    long = [
        f"cell {n}, line {k}: {len(line)} columns: {line[:50]}…"
        for n, cell in enumerate(nb.cells) if cell.cell_type == "code"
        for k, line in enumerate(cell.source.splitlines(), start=1) if len(line) > MAX_COLUMNS
    ]
    assert not long, f"{course_notebook.name}: code wider than {MAX_COLUMNS}:\n  " + "\n  ".join(
        long)


def test_cross_references_point_at_something(course_notebook, require_notebook,
                                             all_notebooks) -> None:
    nb = read(require_notebook(course_notebook))
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    sections = {int(n) for n in SECTION.findall(prose)}
    pitfalls = {int(n) for n in PITFALL.findall(prose)}
    numbers = {p.name[:2] for p in all_notebooks}
    broken = []
    for match in SECTION_REF.finditer(prose):
        for n in filter(None, match.groups()):
            if int(n) not in sections:
                broken.append(f"{match.group(0)!r}: no '## {n} ·' heading")
    for match in PITFALL_REF.finditer(prose):
        if int(match.group(1)) not in pitfalls:
            broken.append(f"{match.group(0)!r}: no '**Pitfall {match.group(1)}'")
    for match in NOTEBOOK_REF.finditer(prose):
        if match.group(1) not in numbers:
            broken.append(f"{match.group(0)!r}: no notebook {match.group(1)}")
    assert not broken, f"{course_notebook.name}:\n  " + "\n  ".join(broken)
