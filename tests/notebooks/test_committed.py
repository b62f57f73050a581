"""Committed notebooks are stripped: no outputs except the ones nbval checks, no widget state.

The convention (DESIGN: "Outputs are stripped before commit (nbstripout --keep-count),
except cells whose output nbval checks"):

* a code cell may keep outputs only if nbval compares them — tag ``nbval-check-output``
  (or a ``# NBVAL_CHECK_OUTPUT`` comment line) — and nbstripout keeps them — tag
  ``keep_output`` (or cell metadata ``"keep_output": true``); it must have an execution
  count, or nbval fails it as "Unrun reference cell has outputs";
* committed outputs are never widget views (random model ids, no state to render);
* notebook metadata holds no ``widgets`` state (it breaks GitHub's renderer);
* the file is a fixed point of ``nbstripout --keep-count`` (cell ids aside);
* the kernel is ``python3`` (the course's own environment), so Lab asks nothing.
"""

from __future__ import annotations

import copy
import json

import nbformat
import pytest
from nbstripout import strip_output

CHECK_TAG = "nbval-check-output"
CHECK_COMMENT = "NBVAL_CHECK_OUTPUT"
KEEP_TAG = "keep_output"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# nbstripout's default extra keys (nbstripout 0.9, ``_nbstripout.main``).
NBSTRIPOUT_EXTRA_KEYS = [
    "metadata.signature",
    "metadata.widgets",
    "cell.metadata.collapsed",
    "cell.metadata.ExecuteTime",
    "cell.metadata.execution",
    "cell.metadata.heading_collapsed",
    "cell.metadata.hidden",
    "cell.metadata.scrolled",
]


def _checked(cell) -> bool:
    if CHECK_TAG in cell.metadata.get("tags", []):
        return True
    return any(
        line.strip().startswith("#") and line.strip().lstrip("#").strip() == CHECK_COMMENT
        for line in cell.source.splitlines()
    )


def _kept(cell) -> bool:
    return KEEP_TAG in cell.metadata.get("tags", []) or bool(cell.metadata.get("keep_output"))


def _read(path):
    with open(path, encoding="utf-8") as f:
        return nbformat.read(f, as_version=4)


def test_notebook_is_stripped(any_notebook, require_notebook):
    path = require_notebook(any_notebook)
    nb = _read(path)
    nbformat.validate(nb)
    problems = []

    if "widgets" in nb.metadata:
        problems.append("notebook metadata holds widget state ('widgets'): clear it")
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel != "python3":
        problems.append(f"kernelspec name is {kernel!r}, expected 'python3'")

    for n, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.outputs:
            continue
        where = f"cell {n} ({cell.source.strip().splitlines()[0][:50] if cell.source else ''!r})"
        if not _checked(cell):
            problems.append(f"{where} has outputs but nbval does not check them (no {CHECK_TAG})")
        if not _kept(cell):
            problems.append(f"{where} has outputs but no '{KEEP_TAG}' tag: nbstripout drops them")
        if cell.execution_count is None:
            problems.append(f"{where} has outputs but no execution count (nbval: 'unrun')")
        for out in cell.outputs:
            data = out.get("data", {})
            if WIDGET_VIEW in data or WIDGET_STATE in data:
                problems.append(f"{where} commits a widget view: widgets are never checked")
            if out.get("output_type") == "error":
                problems.append(f"{where} commits an error output")

    stripped = strip_output(
        copy.deepcopy(nb),
        keep_output=None,
        keep_count=True,
        keep_id=True,
        extra_keys=NBSTRIPOUT_EXTRA_KEYS,
    )
    if json.dumps(stripped, sort_keys=True) != json.dumps(nb, sort_keys=True):
        problems.append("not a fixed point of nbstripout: run `nbstripout --keep-count` on it")

    if problems:
        pytest.fail(f"{path}:\n  " + "\n  ".join(problems), pytrace=False)
