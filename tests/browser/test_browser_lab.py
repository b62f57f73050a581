"""The course in a real browser: JupyterLab in headless Chromium, driven by Playwright.

One JupyterLab server (on a temp copy of the notebooks, isolated like ``make lab``) and
one Chromium serve every notebook. For each ``notebooks/*.ipynb``: open it, wait for the
kernel to be idle, Run All, wait until every code cell has run, then check

* no cell output holds an error or a traceback, and every widget rendered;
* a ``.rtlab-statuspill``, if any, reads ``connected`` while no cell runs;
* a ``.rtlab-messagelist`` with ``data-count``, if any, keeps growing for 3 s after the
  kernel went idle: a task started by a cell updates widgets while no cell runs.

A screenshot per notebook lands in ``test-artifacts/browser/<name>.png``.

Chromium is what ``tools/setup-system`` (run by ``make test``) provides: ``$RTLAB_CHROMIUM``,
Debian's ``/usr/bin/chromium``, or, on a machine without root, Playwright's build fetched
into ``.browsers/``. Missing Chromium fails, unless ``RTLAB_SKIP_BROWSER=1``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from rtlab.labapp import REPO, isolation_env, lab_argv, write_overrides

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
REAPER = HERE.parent / "reaper.py"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Docker's /dev/shm is 64 MB: Chromium crashes on big pages unless it uses /tmp.
    "--disable-dev-shm-usage",
]
ARTIFACTS = REPO / "test-artifacts" / "browser"
SERVER_START_S = 60.0
KERNEL_IDLE_S = 45.0
RUN_ALL_S = 60.0
RUN_ALL_RETRY_S = 3.0
PILL_CONNECTED_S = 15.0
GROWTH_WINDOW_S = 3.0
# Lab settings for the test server only: render every cell (windowing would detach cells
# scrolled out of view, hiding their widgets from DOM queries).
TEST_OVERRIDES = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}

_timings: dict[str, float] = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Lab:
    def __init__(self, base: str, token: str, root: Path, proc: subprocess.Popen, log: Path):
        self.base, self.token, self.root, self.proc, self.log = base, token, root, proc, log

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text("utf-8", errors="replace")[-n:]
        except OSError:
            return ""


def find_chromium() -> str | None:
    """The browser ``tools/setup-system`` provides: ``$RTLAB_CHROMIUM``, Debian's, or the
    Playwright build it downloads into ``.browsers/`` when it cannot use apt."""
    if os.environ.get("RTLAB_CHROMIUM"):
        return os.environ["RTLAB_CHROMIUM"]
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    fetched = sorted(REPO.glob(".browsers/chromium-*/chrome-linux*/chrome"))
    return str(fetched[-1]) if fetched else None


@pytest.fixture(scope="module")
def chromium() -> str:
    if os.environ.get("RTLAB_SKIP_BROWSER") == "1":
        pytest.skip("RTLAB_SKIP_BROWSER=1")
    path = find_chromium()
    if path is None or not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"Chromium not found ({path or 'not /usr/bin/chromium, not in .browsers/'}): "
            "`make test` gets it through tools/setup-system (Debian's chromium, or "
            "Playwright's build without root); RTLAB_CHROMIUM=/path/to/chromium picks "
            "another; RTLAB_SKIP_BROWSER=1 skips these tests.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def workdir():
    path = Path(tempfile.mkdtemp(prefix="rtlab-browser-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def lab(chromium, workdir, notebooks_root):
    root = workdir / "notebooks"
    shutil.copytree(
        notebooks_root, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    )
    env = isolation_env()
    # Keep the student's Lab layout and settings out of it (and the test out of theirs).
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(workdir / "workspaces")
    env["JUPYTERLAB_SETTINGS_DIR"] = str(workdir / "user-settings")
    settings = write_overrides(workdir / "app-settings", extra=TEST_OVERRIDES)
    port, token = _free_port(), secrets.token_hex(16)
    argv = lab_argv(
        [
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            "--LabApp.expose_app_in_browser=True",
        ],
        env=env,
        notebook_dir=root,
        open_file=None,
        settings_dir=settings,
    )
    argv = [sys.executable, str(REAPER), *argv]  # reports processes left behind
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "jupyter-server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kernels and their children too
        )
    server = Lab(f"http://127.0.0.1:{port}", token, root, proc, log)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited ({proc.returncode}):\n{server.log_tail()}")
            try:
                if _get(server.url("/api/status"), timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab not up in {SERVER_START_S:g} s:\n{server.log_tail()}")
            time.sleep(0.2)
        yield server
    finally:
        _stop_server(server)


def _stop_server(server: Lab) -> None:
    proc = server.proc
    if proc.poll() is None:
        try:  # the polite way: the server shuts its kernels down first
            req = urllib.request.Request(server.url("/api/shutdown"), method="POST")
            urllib.request.urlopen(req, timeout=5).close()
        except OSError:
            pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    # Whatever is left in the server's process group (kernels, servers they started).
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        time.sleep(1.0)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    left = [
        line
        for line in server.log_tail(20_000).splitlines()
        if "rtlab-reaper: left running" in line
    ]
    if left:
        pytest.fail(
            "processes outlived JupyterLab and its kernels (killed now):\n" + "\n".join(left),
            False,
        )


@pytest.fixture(scope="module")
def page(lab, chromium, workdir):
    from playwright.sync_api import sync_playwright

    home = workdir / "home"  # Chromium writes ~/.pki, ~/.config, ~/.cache: not the real one
    home.mkdir()
    browser_env = dict(os.environ)
    browser_env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(workdir / "chromium-profile"),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            env=browser_env,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            pg = context.pages[0] if context.pages else context.new_page()
            pg.set_default_timeout(60_000)
            pg.goto(lab.url("/lab?reset"))
            pg.wait_for_function("() => window.jupyterapp && window.jupyterapp.started")
            pg.evaluate("() => window.jupyterapp.restored.then(() => true)")
            pg.evaluate((HERE / "lab.js").read_text("utf-8"))
            yield pg
        finally:
            context.close()


def _poll(pg, what: str, done, timeout: float, lab: Lab, interval: float = 0.1):
    """Poll ``window.__rtlab.state()`` until ``done(state)``; fail on errors or timeout."""
    deadline = time.monotonic() + timeout
    while True:
        state = pg.evaluate("() => window.__rtlab.state()")
        if state["errors"]:
            pytest.fail("notebook output has errors:\n" + "\n".join(state["errors"]), False)
        if state["dialog"]:
            if any("Select Kernel" in d for d in state["dialog"]) and pg.evaluate(
                "() => window.__rtlab.acceptDialog()"
            ):
                continue
            pytest.fail(f"unexpected dialog while waiting for {what}: {state['dialog']}", False)
        if done(state):
            return state
        if time.monotonic() > deadline:
            pytest.fail(
                f"timed out after {timeout:g} s waiting for {what}; last state: {state}\n"
                f"server log tail:\n{lab.log_tail(2000)}",
                False,
            )
        time.sleep(interval)


def test_lab_settings_override(lab):
    """The news pop-up and update check are off (app settings ``overrides.json``)."""
    status, body = _get(lab.url("/lab/api/settings/@jupyterlab/apputils-extension:notification"))
    assert status == 200, body[:500]
    # Overrides become the schema's defaults (no user settings exist on the test server).
    data = json.loads(body)
    props = data["schema"]["properties"]
    assert props["fetchNews"]["default"] == "false", props["fetchNews"]
    assert props["checkForUpdates"]["default"] is False, props["checkForUpdates"]
    assert data["settings"].get("fetchNews", "false") == "false", data["settings"]


def test_notebook_in_browser(course_notebook, require_notebook, lab, page):
    notebook = require_notebook(course_notebook)
    rel = notebook.relative_to(notebook.parent).as_posix()
    shot = ARTIFACTS / f"{notebook.stem}.png"
    start = time.monotonic()
    page.evaluate("(p) => window.__rtlab.open(p)", rel)
    try:
        # "Run All" sent before the status bar reads Idle is silently ignored.
        _poll(page, "the kernel to be idle", lambda s: s["display"] == "idle", KERNEL_IDLE_S, lab)
        page.evaluate("() => window.__rtlab.clear()")
        state = _run_all(page, lab)
        idle_at = time.monotonic()
        assert state["runError"] is None, state["runError"]

        pills = page.evaluate("() => window.__rtlab.pills()")
        if pills:
            pills = _wait_connected(page, lab)
        counts_before = page.evaluate("() => window.__rtlab.counts()")
        if counts_before:
            time.sleep(max(0.0, idle_at + GROWTH_WINDOW_S - time.monotonic()))
            counts_after = page.evaluate("() => window.__rtlab.counts()")
            state = page.evaluate("() => window.__rtlab.state()")
            assert state["running"] == 0 and state["display"] == "idle", state
            assert not state["errors"], state["errors"]
            assert any(
                after > before for before, after in zip(counts_before, counts_after, strict=False)
            ), (
                f"no .rtlab-messagelist grew in the {GROWTH_WINDOW_S:g} s after the kernel "
                f"went idle (data-count before {counts_before}, after {counts_after}): "
                "a task started in a cell must keep updating widgets while no cell runs"
            )
            print(f"{notebook.name}: message counts {counts_before} -> {counts_after}")
        if pills:
            print(f"{notebook.name}: status pills {pills}")
    finally:
        _timings[notebook.name] = round(time.monotonic() - start, 2)
        try:
            page.evaluate("() => window.__rtlab.reveal()")
            page.screenshot(path=str(shot))
        finally:
            page.evaluate("() => window.__rtlab.close()")
            (ARTIFACTS / "timings.json").write_text(
                json.dumps(_timings, indent=2, sort_keys=True) + "\n", "utf-8"
            )


def _run_all(page, lab: Lab) -> dict:
    """Run All, then wait until the kernel is idle and every code cell has a count.

    Lab ignores Run All sent before the kernel is really ready: if nothing has started
    after a few seconds, send it again (twice at most).
    """

    def started(s):
        return s["code"] == 0 or s["running"] or s["counted"] or s["display"] != "idle"

    for _attempt in range(3):
        page.evaluate("() => window.__rtlab.runAll()")
        deadline = time.monotonic() + RUN_ALL_RETRY_S
        while time.monotonic() < deadline:
            if started(page.evaluate("() => window.__rtlab.state()")):
                break
            time.sleep(0.1)
        else:
            continue  # ignored: send it again
        break
    return _poll(
        page,
        "Run All to finish",
        lambda s: s["display"] == "idle" and s["running"] == 0 and s["counted"] == s["code"],
        RUN_ALL_S,
        lab,
    )


def _wait_connected(page, lab: Lab) -> list[dict]:
    deadline = time.monotonic() + PILL_CONNECTED_S
    while True:
        pills = page.evaluate("() => window.__rtlab.pills()")
        state = page.evaluate("() => window.__rtlab.state()")
        quiet = state["running"] == 0 and state["display"] == "idle"
        if quiet and any(p["state"] == "connected" for p in pills):
            return pills
        if time.monotonic() > deadline:
            pytest.fail(
                f"no .rtlab-statuspill read data-state=connected within "
                f"{PILL_CONNECTED_S:g} s after Run All finished: {pills} (kernel {state})",
                False,
            )
        time.sleep(0.1)
