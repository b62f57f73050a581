"""Run notebooks and keep only the outputs nbval checks: the committed form.

Usage: ``python tools/refresh_notebooks.py [notebooks/NN-name.ipynb ...]`` (default: all).

Each notebook is executed top to bottom in the course's isolated Jupyter
environment. Cells marked ``# NBVAL_CHECK_OUTPUT`` keep their (deterministic)
outputs and get ``keep_output`` metadata so nbstripout leaves them alone; every
other output is dropped; widget views and widget state are never kept. The
result is a fixed point of ``nbstripout --keep-count``, which
``tests/notebooks/test_committed.py`` checks.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbstripout import strip_output

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rtlab.labapp import isolation_env  # noqa: E402

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CHECK = "NBVAL_CHECK_OUTPUT"


def checked(cell: nbformat.NotebookNode) -> bool:
    return any(line.strip().lstrip("#").strip() == CHECK for line in cell.source.splitlines())


def refresh(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={
        "metadata": {"path": str(path.parent)}
    }).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if checked(cell):
            cell.metadata["keep_output"] = True
            cell.outputs = [o for o in cell.outputs if WIDGET_VIEW not in o.get("data", {})]
        else:
            cell.metadata.pop("keep_output", None)
            cell.outputs = []
    nb.metadata.pop("widgets", None)
    nb = strip_output(nb, keep_output=None, keep_count=True, keep_id=True,
                      extra_keys=["metadata.widgets", "cell.metadata.execution"])
    nbformat.write(nb, path)
    print(f"refreshed {path.relative_to(REPO)}")


def main(argv: list[str]) -> None:
    os.environ.update(isolation_env())
    paths = [Path(p).resolve() for p in argv] or sorted((REPO / "notebooks").glob("*.ipynb"))
    for path in paths:
        refresh(path)


if __name__ == "__main__":
    main(sys.argv[1:])
