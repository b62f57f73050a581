"""``python -m benchmarks`` (``make bench``): every benchmark as a ratio against its baseline.

Each module in ``MODULES`` has ``run(server) -> list[Row]``; all share one demo
server process. ``python -m benchmarks ws_echo startup`` runs a subset.
The exit code is 1 when a target is missed.
"""

from __future__ import annotations

import importlib
import sys

from benchmarks.report import Row, table
from rtlab import lab

MODULES = [
    "ws_echo",
    "socketio_ack",
    "startup",
    "widget_feed",
    "sse",
    "graphql_cache",
    "graphql_client",
    "graphql_subscriptions",
    "graphql_batch",
    "graphql_apq",
    "ws_oneway",
    "compression",
    "graphql_cost",
    "scaleout_handoff",
    "socketio_members",
    "transports",
    "classroom",
    "classroom_churn",
]


def main(names: list[str]) -> int:
    chosen = names or MODULES
    unknown = sorted(set(chosen) - set(MODULES))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(MODULES)}")
        return 2
    server = lab.start()
    rows: list[Row] = []
    try:
        for name in chosen:
            module = importlib.import_module(f"benchmarks.{name}")
            rows.extend(module.run(server))
            print(f"  ... {name} done", file=sys.stderr)
    finally:
        lab.stop_all()
    print(table(rows))
    return 0 if all(r.met for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
