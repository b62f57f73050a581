"""Write the navigation line at the end of every course notebook (previous · next).

Usage: ``python tools/nav.py`` (rewrite) or ``python tools/nav.py --check`` (exit 1 if
any notebook's line is stale; ``tests/notebooks/test_nav.py`` runs the same check).
The line links the neighbours in file order, titled from each notebook's first
heading (``# NN · Title: subtitle`` gives ``NN · Title``), so adding a notebook
updates every link around it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"


def course() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


def short_title(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    heading = nb.cells[0].source.strip().splitlines()[0].lstrip("#").strip()
    return heading.split(":")[0].strip()


def nav_line(paths: list[Path], index: int) -> str:
    parts = []
    if index > 0:
        prev = paths[index - 1]
        parts.append(f"Previous: [{short_title(prev)}]({prev.name})")
    if index < len(paths) - 1:
        nxt = paths[index + 1]
        parts.append(f"Next: [{short_title(nxt)}]({nxt.name})")
    return "---\n" + " · ".join(parts)


def is_nav(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "markdown" and cell.source.startswith("---\n") and (
        "Previous:" in cell.source or "Next:" in cell.source
    )


def stale(paths: list[Path] | None = None) -> list[str]:
    paths = course() if paths is None else paths
    problems = []
    for i, path in enumerate(paths):
        last = nbformat.read(path, as_version=4).cells[-1]
        if not is_nav(last) or last.source != nav_line(paths, i):
            problems.append(path.name)
    return problems


def write(paths: list[Path] | None = None) -> None:
    paths = course() if paths is None else paths
    for i, path in enumerate(paths):
        nb = nbformat.read(path, as_version=4)
        line = nav_line(paths, i)
        if is_nav(nb.cells[-1]):
            if nb.cells[-1].source == line:
                continue
            nb.cells[-1].source = line
        else:
            nb.cells.append(new_markdown_cell(line))
        nbformat.write(nb, path)
        print(f"nav: {path.name}")


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        bad = stale()
        if bad:
            print("stale navigation lines: " + ", ".join(bad) + " (run python tools/nav.py)")
            sys.exit(1)
    else:
        write()
