"""Start JupyterLab on the course, with everything Jupyter writes kept inside the repo.

``python -m rtlab.labapp [extra jupyter lab args]`` (what ``make lab`` runs):

* points Jupyter, IPython, matplotlib and JupyterLab's settings and workspaces at the
  repo's git-ignored ``.jupyter/`` unless the environment already says otherwise, so
  nothing lands in ``$HOME``;
* writes JupyterLab *app settings overrides* (``overrides.json``) into
  ``$JUPYTER_DATA_DIR/lab/settings`` and starts Lab with ``--LabApp.app_settings_dir``
  pointing there: the news pop-up ("Would you like to receive official Jupyter news?")
  and the update check are off;
* execs ``jupyter lab --notebook-dir=<repo>/notebooks`` opening ``00-welcome.ipynb``.

JupyterLab 4.6 reads overrides from ``<app_settings_dir>/overrides.json`` (and
``overrides.d/*.json``) only; ``app_settings_dir`` defaults to
``<sys.prefix>/share/jupyter/lab/settings``, which belongs to the Python environment, not
to the repo. We move it into the repo and carry over whatever the environment's own
``overrides.json`` / ``page_config.json`` hold, so nothing installed there is lost.

Tests import :func:`isolation_env` and :func:`lab_argv` so they run under exactly the
same isolation.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
JUPYTER_HOME = REPO / ".jupyter"
NOTEBOOKS = REPO / "notebooks"
WELCOME = "00-welcome.ipynb"

#: Settings every rtlab JupyterLab starts with (plugin id -> {setting: default}).
OVERRIDES: dict[str, dict[str, object]] = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def isolation_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a copy of ``base`` (default: ``os.environ``) with the Jupyter dirs isolated.

    Only variables that are not already set get a value, so a caller (the Makefile, CI,
    a test making its own temp dirs) can still choose.
    """
    env = dict(os.environ if base is None else base)
    defaults = {
        "JUPYTER_CONFIG_DIR": JUPYTER_HOME / "config",
        "JUPYTER_DATA_DIR": JUPYTER_HOME / "data",
        "JUPYTER_RUNTIME_DIR": JUPYTER_HOME / "runtime",
        "IPYTHONDIR": JUPYTER_HOME / "ipython",
        "MPLCONFIGDIR": JUPYTER_HOME / "mpl",
    }
    for key, value in defaults.items():
        env.setdefault(key, str(value))
    # JupyterLab's own defaults for these live under JUPYTER_CONFIG_DIR; spell them out.
    config_dir = Path(env["JUPYTER_CONFIG_DIR"])
    env.setdefault("JUPYTERLAB_SETTINGS_DIR", str(config_dir / "lab" / "user-settings"))
    env.setdefault("JUPYTERLAB_WORKSPACES_DIR", str(config_dir / "lab" / "workspaces"))
    # JupyterLab asks npm for its version at start; npm then logs into ~/.npm/_logs.
    env.setdefault("NPM_CONFIG_CACHE", str(JUPYTER_HOME / "npm"))
    # jupyter_core >= 5: use platformdirs (and stop warning about the coming switch).
    env.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    # Python 3.11 + debugpy print "frozen modules" warnings on every kernel start.
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def app_settings_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where rtlab's JupyterLab reads ``overrides.json``: ``$JUPYTER_DATA_DIR/lab/settings``."""
    env = isolation_env(env)
    return Path(env["JUPYTER_DATA_DIR"]) / "lab" / "settings"


def _merge(into: dict, update: Mapping) -> dict:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
    return into


def write_overrides(
    settings_dir: Path | None = None,
    extra: Mapping[str, Mapping[str, object]] | None = None,
) -> Path:
    """Write ``overrides.json`` (rtlab's on top of the environment's) and return the dir."""
    settings_dir = Path(settings_dir) if settings_dir else app_settings_dir()
    settings_dir.mkdir(parents=True, exist_ok=True)
    env_settings = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings"
    overrides: dict = {}
    if (env_settings / "overrides.json").is_file():
        try:
            overrides = json.loads((env_settings / "overrides.json").read_text("utf-8"))
        except ValueError:
            overrides = {}
    _merge(overrides, json.loads(json.dumps(OVERRIDES)))
    if extra:
        _merge(overrides, json.loads(json.dumps(extra)))
    target = settings_dir / "overrides.json"
    text = json.dumps(overrides, indent=2, sort_keys=True) + "\n"
    if not target.is_file() or target.read_text("utf-8") != text:
        target.write_text(text, "utf-8")
    page_config = env_settings / "page_config.json"
    if page_config.is_file() and not (settings_dir / "page_config.json").exists():
        (settings_dir / "page_config.json").write_bytes(page_config.read_bytes())
    return settings_dir


def make_dirs(env: Mapping[str, str]) -> None:
    """Create the isolated dirs (Jupyter creates most lazily; IPython warns if missing)."""
    for key in (
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "IPYTHONDIR",
        "MPLCONFIGDIR",
        "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR",
    ):
        if env.get(key):
            Path(env[key]).mkdir(parents=True, exist_ok=True)


def lab_argv(
    extra: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    notebook_dir: Path | str | None = None,
    open_file: str | None = WELCOME,
    settings_dir: Path | str | None = None,
) -> list[str]:
    """The ``jupyter lab`` command line (this interpreter's JupyterLab) for rtlab.

    ``open_file`` (relative to ``notebook_dir``) is opened when it exists and ``extra``
    names no file of its own. ``extra`` comes last; an option it sets (``--opt=value``
    form) replaces ours, since traitlets refuses two values for one option.
    """
    env = isolation_env(env)
    root = Path(notebook_dir) if notebook_dir else NOTEBOOKS
    settings = Path(settings_dir) if settings_dir else app_settings_dir(env)
    ours = {
        # traitlets refuses a second value for these, so a caller's own value wins
        "--notebook-dir": str(root),
        "--LabApp.app_settings_dir": str(settings),
        # Lab's own check for a newer release ("A newer version is available"): off too.
        "--LabApp.check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
    }
    aliases = {"--notebook-dir": ("--ServerApp.root_dir",)}
    given = {arg.split("=", 1)[0] for arg in extra if arg.startswith("--")}
    argv = [sys.executable, "-m", "jupyterlab"]
    for option, value in ours.items():
        if option not in given and not given.intersection(aliases.get(option, ())):
            argv.append(f"{option}={value}")
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in given:
        argv.append("--allow-root")  # containers and CI run as root; Lab refuses otherwise
    own_root = bool(given.intersection(("--notebook-dir", "--ServerApp.root_dir")))
    names_a_file = any(not arg.startswith("-") for arg in extra)
    if open_file and not (own_root or names_a_file) and (root / open_file).is_file():
        argv.append(str(root / open_file))
    argv.extend(extra)
    return argv


def main(argv: Sequence[str] | None = None) -> None:
    extra = list(sys.argv[1:] if argv is None else argv)
    env = isolation_env()
    make_dirs(env)
    write_overrides(app_settings_dir(env))
    cmd = lab_argv(extra, env=env)
    sys.stdout.flush()
    os.execve(cmd[0], cmd, env)


if __name__ == "__main__":
    main()
