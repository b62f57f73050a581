"""``tools/setup-system``: what `make test` and `.ci/run` call to get (or name) what a bare
machine lacks. Never a silent skip: a missing piece is installed or named, with exit 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from rtlab.labapp import REPO

SCRIPT = REPO / "tools" / "setup-system"


def run(*args: str, env: dict[str, str] | None = None, user: str | None = None,
        script: Path = SCRIPT) -> subprocess.CompletedProcess[str]:
    argv = [str(script), *args]
    if user is not None:
        argv = ["runuser", "-u", user, "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def test_lab_needs_only_python_and_this_machine_has_it() -> None:
    done = run("--check", "lab")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_a_missing_browser_is_named_with_the_way_to_get_it() -> None:
    done = run("--check", "test", env={"RTLAB_CHROMIUM": "/nonexistent/chromium"})
    assert done.returncode == 2
    assert "Chromium for the browser tests" in done.stderr
    assert "Debian: chromium" in done.stderr and "RTLAB_CHROMIUM" in done.stderr
    assert "nothing installed" in done.stderr


def test_the_browser_it_names_is_the_one_the_browser_test_uses() -> None:
    from tests.browser.test_browser_lab import find_chromium

    done = run("--check", "test")
    assert (done.returncode == 0) == (find_chromium() is not None)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None,
                    reason="needs root to run the script as an unprivileged user")
def test_without_root_or_venv_it_stops_and_says_what_is_missing() -> None:
    # A fresh clone with no .venv, run by a user who can neither apt-get nor download:
    # the script must name the browser and exit 2, not pretend the tests can run.
    with tempfile.TemporaryDirectory(prefix="rtlab-clone-") as where:
        clone = Path(where)
        clone.chmod(0o755)  # readable by the unprivileged user
        (clone / "tools").mkdir()
        shutil.copy(SCRIPT, clone / "tools" / "setup-system")
        done = run("test", env={"RTLAB_CHROMIUM": "/nonexistent/chromium"}, user="nobody",
                   script=clone / "tools" / "setup-system")
    assert done.returncode == 2, done.stderr
    assert "Chromium for the browser tests" in done.stderr
    assert "apt-get needs root" in done.stderr
