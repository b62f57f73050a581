"""Top-level test configuration: the same isolation as ``make lab``, set at import.

Everything the tests spawn (nbval kernels, JupyterLab, demo servers) inherits
``os.environ``, so Jupyter, IPython and matplotlib write into the repo's git-ignored
``.jupyter/`` and never into ``$HOME``.

Notebook tests take a ``course_notebook`` (``notebooks/*.ipynb``) or ``any_notebook``
(those plus ``notebooks/exercises/*.ipynb``) argument, parametrized here. Set
``RTLAB_NOTEBOOKS_DIR`` to test another directory of notebooks. A course without
notebooks is a failure, not a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rtlab.labapp import NOTEBOOKS, isolation_env, make_dirs

os.environ.update(isolation_env())
make_dirs(os.environ)


def notebooks_dir() -> Path:
    return Path(os.environ.get("RTLAB_NOTEBOOKS_DIR") or NOTEBOOKS).resolve()


def course_notebooks() -> list[Path]:
    return sorted(notebooks_dir().glob("*.ipynb"))


def exercise_notebooks() -> list[Path]:
    return sorted((notebooks_dir() / "exercises").glob("*.ipynb"))


def pytest_generate_tests(metafunc):
    for name, found in (
        ("course_notebook", course_notebooks),
        ("any_notebook", lambda: course_notebooks() + exercise_notebooks()),
    ):
        if name not in metafunc.fixturenames:
            continue
        paths = found()
        if not paths:
            # One failing case rather than an empty (silently passing) parametrization.
            metafunc.parametrize(name, [pytest.param(None, id="no-notebooks")])
        else:
            root = notebooks_dir()
            ids = [p.relative_to(root).with_suffix("").as_posix() for p in paths]
            metafunc.parametrize(name, paths, ids=ids)


@pytest.fixture(scope="session")
def notebooks_root() -> Path:
    """The notebooks under test: ``$RTLAB_NOTEBOOKS_DIR`` or the repo's ``notebooks/``."""
    return notebooks_dir()


@pytest.fixture
def all_notebooks() -> list[Path]:
    """Course notebooks, then exercises (what ``any_notebook`` runs through)."""
    return course_notebooks() + exercise_notebooks()


@pytest.fixture
def require_notebook():
    """Call with a parametrized notebook path: fails loudly when there is none."""

    def check(path: Path | None) -> Path:
        if path is None:
            pytest.fail(
                f"no notebooks (*.ipynb) in {notebooks_dir()}: the course must have notebooks"
            )
        return path

    return check


def pytest_collectstart(collector):
    """nbval: never compare stderr, for ``pytest --nbval-lax`` runs rooted here.

    ``tests/notebooks/test_nbval.py`` runs nbval in a subprocess with the same rule
    (``tests/notebooks/nbval_plugin.py``).
    """
    skip = getattr(collector, "skip_compare", None)
    if skip is not None and "stderr" not in skip:
        collector.skip_compare = (*skip, "stderr")
