"""pytest plugin loaded (``-p nbval_plugin``) by ``test_nbval.py`` into its nbval runs.

A conftest in ``tests/`` does not apply to ``notebooks/``, so the nbval settings travel
as a plugin: stderr is never compared (warnings and logging vary between runs and
machines). With ``--nbval-lax`` only cells tagged ``nbval-check-output`` (or marked
``# NBVAL_CHECK_OUTPUT``) are compared at all; widget views never are (nbval skips
``application/vnd.jupyter.widget-view+json``: model ids are random).
"""


def pytest_collectstart(collector):
    skip = getattr(collector, "skip_compare", None)
    if skip is not None and "stderr" not in skip:
        collector.skip_compare = (*skip, "stderr")
