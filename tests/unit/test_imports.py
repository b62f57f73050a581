"""Every core imports alone: without websockets, httpx, gql, socketio, ipywidgets or sqlite3.

DESIGN.md promises three layers, each importable alone. A fresh interpreter gets a
``sys.meta_path`` finder that refuses those libraries, then imports every core; the shells
(which need them) are imported too, to prove the finder really refuses.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

BLOCKED = ["websockets", "httpx", "httpx_sse", "gql", "socketio", "engineio", "aiohttp",
           "ipywidgets", "IPython", "sqlite3", "_sqlite3"]

CORES = [
    "rtlab.errors",
    "rtlab.knobs",
    "rtlab.backoff",
    "rtlab.state",
    "rtlab.reconnect",
    "rtlab.outbox",
    "rtlab.envelope",
    "rtlab.sources",
    "rtlab.waiting",
    "rtlab.supervised",
    "rtlab.sse.parser",
    "rtlab.graphql.cache",
    "rtlab.graphql.policies",
    "rtlab.graphql.wsprotocol",
    "rtlab.graphql.links",
    "rtlab.graphql.keys",
    "rtlab.graphql.documents",
    "rtlab.graphql.plan",
    "rtlab.graphql.read",
    "rtlab.graphql.normalize",
    "rtlab.graphql.pagination",
    "rtlab.graphql.optimistic",
    "rtlab.graphql.persisted",
    "rtlab.graphql.dedup",
    "rtlab.teaching.ledger",
    "rtlab.teaching.results",
    "rtlab.teaching.decide",
]

SHELLS = ["rtlab.ws", "rtlab.socketio", "rtlab.sse.client", "rtlab.graphql.ws",
          "rtlab.graphql.http", "rtlab.graphql.batch", "rtlab.graphql.wire",
          "rtlab.graphql.store"]

SCRIPT = textwrap.dedent(
    """
    import importlib, importlib.abc, json, sys

    BLOCKED = set(json.loads(sys.argv[1]))

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is not allowed in a core")
            return None

    sys.meta_path.insert(0, Refuse())
    result = {"failed": {}, "loaded": [], "shells_refused": []}
    for name in json.loads(sys.argv[2]):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            result["failed"][name] = str(exc)
    result["loaded"] = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    for name in json.loads(sys.argv[3]):
        try:
            importlib.import_module(name)
        except ImportError:
            result["shells_refused"].append(name)
    print(json.dumps(result))
    """
)


def test_every_core_imports_without_the_io_libraries() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(BLOCKED), json.dumps(CORES),
         json.dumps(SHELLS)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    result = json.loads(done.stdout)
    assert result["failed"] == {}, result["failed"]
    assert result["loaded"] == []
    assert result["shells_refused"] == SHELLS  # the finder does refuse what shells need


def test_the_package_faces_still_offer_every_name() -> None:
    import rtlab.graphql
    import rtlab.sse

    for name in rtlab.graphql.__all__:
        assert getattr(rtlab.graphql, name) is not None, name
    for name in rtlab.sse.__all__:
        assert getattr(rtlab.sse, name) is not None, name
