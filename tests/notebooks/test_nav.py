"""Every course notebook ends with a navigation line that matches the course's order."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _nav():
    spec = importlib.util.spec_from_file_location("nav", REPO / "tools" / "nav.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_navigation_lines_are_current() -> None:
    nav = _nav()
    paths = nav.course()
    assert paths, "the course has no notebooks"
    assert nav.stale(paths) == [], "stale navigation lines: run `python tools/nav.py`"


def test_nav_line_links_both_neighbours(tmp_path: Path) -> None:
    nav = _nav()
    paths = nav.course()
    if len(paths) >= 3:
        line = nav.nav_line(paths, 1)
        assert f"({paths[0].name})" in line and f"({paths[2].name})" in line
