"""Ask a query in a brand-new Python process whose cache comes only from the SQLite store.

This is the honest test of a persistent cache: nothing survives in memory, as after a
kernel restart or an app relaunch (the role the chapter gives ``HiveStore``). Notebook 01
and the tests run it as ``python -m rtlab.teaching.fresh_process STORE QUERY [VARIABLES]
[--url URL] [--fetch-policy P]``; it prints one JSON line: the data, where it came from,
and how many network calls it took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rtlab.graphql.client import GraphQLClient
from rtlab.graphql.http import HttpLink
from rtlab.graphql.links import Link, NetworkError, Response
from rtlab.graphql.store import load


class NoNetwork(Link):
    """A terminating link for a client that must not go online: every request fails."""

    async def request(self, op: Any, forward: Any = None) -> Response:
        raise NetworkError("offline: this process has no server to ask")


async def answer(store: str, query: str, variables: Mapping[str, Any] | None = None,
                 url: str | None = None, fetch_policy: str = "cache-first") -> dict[str, Any]:
    """Load the store into a new cache, run the query once, report what happened."""
    cache = load(store)
    link: Link = HttpLink(url) if url else NoNetwork()
    async with GraphQLClient(link, cache) as client:
        result = await client.query(query, variables, fetch_policy=fetch_policy)
        return {"data": result.data, "source": result.source, "error": result.error,
                "network_calls": client.network_calls, "entities": len(cache)}


def run(store: str | Path, query: str, variables: Mapping[str, Any] | None = None, *,
        url: str | None = None, fetch_policy: str = "cache-first",
        timeout: float = 15.0) -> dict[str, Any]:
    """Run :func:`answer` in a fresh interpreter and return its report."""
    cmd = [sys.executable, "-m", "rtlab.teaching.fresh_process", str(store), query,
           json.dumps(dict(variables or {})), "--fetch-policy", fetch_policy]
    if url:
        cmd += ["--url", url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"fresh process failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("query")
    parser.add_argument("variables", nargs="?", default="{}")
    parser.add_argument("--url")
    parser.add_argument("--fetch-policy", default="cache-first")
    args = parser.parse_args(argv)
    report = asyncio.run(answer(args.store, args.query, json.loads(args.variables), args.url,
                                args.fetch_policy))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
