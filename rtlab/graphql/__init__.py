"""rtlab's GraphQL client: a normalized cache, fetch and error policies, a persistent store.

The cores here are pure (no I/O, no clock): :class:`NormalizedCache`
(:mod:`rtlab.graphql.cache`), the policy tables (:mod:`rtlab.graphql.policies`), the
persisted-query verdicts (:mod:`rtlab.graphql.persisted`) and the wire format of GraphQL
over WebSocket (:mod:`rtlab.graphql.wsprotocol`); the shells are the links
(:mod:`rtlab.graphql.http` on httpx and gql, :mod:`rtlab.graphql.ws` on websockets), the
client and the SQLite store. Network optimisation links: :class:`BatchHttpLink` (with
its pure :class:`BatchPlan`), :class:`PersistedQueryLink`, :class:`DedupLink`, an HTTP
cache (:class:`HttpCache`), and :class:`WireStats` counting what really goes on the wire.

This package's face is lazy: ``from rtlab.graphql import NormalizedCache`` loads the
cache only, so ``import rtlab.graphql.cache`` never pulls in websockets, httpx, gql or
sqlite3. Each name below is imported from its module on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module (under rtlab.graphql) that defines it
_HOMES: dict[str, str] = {
    **dict.fromkeys(["BatchHttpLink", "BatchPlan"], "batch"),
    "DedupLink": "dedup",
    "HttpCache": "httpcache",
    "PersistedQueryLink": "persisted",
    **dict.fromkeys(["CountingTransport", "WireStats", "counting_connection"], "wire"),
    **dict.fromkeys(["NormalizedCache", "ReadResult", "Watch", "WriteReport"], "cache"),
    **dict.fromkeys(["GraphQLClient", "ObservableQuery", "QueryResult"], "client"),
    **dict.fromkeys(["CacheError", "DocumentError", "VariableError", "add_typename",
                     "parse_document"], "documents"),
    "HttpLink": "http",
    **dict.fromkeys(["DELETE", "MISSING", "ROOT_MUTATION", "ROOT_QUERY", "Ref"], "keys"),
    **dict.fromkeys(["AuthLink", "ErrorLink", "Link", "NetworkError", "Operation",
                     "Response", "RetryLink", "chain", "is_subscription", "split"], "links"),
    "WriteError": "normalize",
    **dict.fromkeys(["append", "offset_limit"], "pagination"),
    "FieldPolicy": "plan",
    **dict.fromkeys(["CacheStatus", "Decision", "ErrorPolicy", "FetchPolicy",
                     "GraphQLErrors", "apply_error_policy", "decide", "decide_mutation",
                     "status_of"], "policies"),
    **dict.fromkeys(["SqliteStore", "StoreVersionError", "load", "save"], "store"),
    "WebSocketLink": "ws",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'rtlab.graphql' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"rtlab.graphql.{home}"), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


__all__ = sorted(_HOMES)
