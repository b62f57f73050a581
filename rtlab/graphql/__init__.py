"""rtlab's GraphQL client: a normalized cache, fetch and error policies, a persistent store.

The cores here are pure (no I/O, no clock): :class:`NormalizedCache`
(:mod:`rtlab.graphql.cache`), the policy tables (:mod:`rtlab.graphql.policies`),
the SQLite store (:mod:`rtlab.graphql.store`), the batch plan (:mod:`rtlab.graphql.batch`)
and the persisted-query verdicts (:mod:`rtlab.graphql.persisted`). Network optimisation
links: :class:`BatchHttpLink`, :class:`PersistedQueryLink`, :class:`DedupLink`, an HTTP
cache (:class:`HttpCache`), and :class:`WireStats` counting what really goes on the wire.
"""

from rtlab.graphql.batch import BatchHttpLink, BatchPlan
from rtlab.graphql.cache import NormalizedCache, ReadResult, Watch, WriteReport
from rtlab.graphql.client import GraphQLClient, ObservableQuery, QueryResult
from rtlab.graphql.dedup import DedupLink
from rtlab.graphql.documents import (
    CacheError,
    DocumentError,
    VariableError,
    add_typename,
    parse_document,
)
from rtlab.graphql.http import HttpLink
from rtlab.graphql.httpcache import HttpCache
from rtlab.graphql.keys import DELETE, MISSING, ROOT_MUTATION, ROOT_QUERY, Ref
from rtlab.graphql.links import (
    AuthLink,
    ErrorLink,
    Link,
    NetworkError,
    Operation,
    Response,
    RetryLink,
    chain,
    is_subscription,
    split,
)
from rtlab.graphql.normalize import WriteError
from rtlab.graphql.pagination import append, offset_limit
from rtlab.graphql.persisted import PersistedQueryLink
from rtlab.graphql.plan import FieldPolicy
from rtlab.graphql.policies import (
    CacheStatus,
    Decision,
    ErrorPolicy,
    FetchPolicy,
    GraphQLErrors,
    apply_error_policy,
    decide,
    decide_mutation,
    status_of,
)
from rtlab.graphql.store import SqliteStore, StoreVersionError, load, save
from rtlab.graphql.wire import CountingTransport, WireStats, counting_connection
from rtlab.graphql.ws import WebSocketLink

__all__ = [
    "AuthLink",
    "BatchHttpLink",
    "BatchPlan",
    "CountingTransport",
    "DedupLink",
    "HttpCache",
    "PersistedQueryLink",
    "WireStats",
    "counting_connection",
    "ErrorLink",
    "GraphQLClient",
    "HttpLink",
    "Link",
    "NetworkError",
    "ObservableQuery",
    "Operation",
    "QueryResult",
    "Response",
    "RetryLink",
    "WebSocketLink",
    "chain",
    "is_subscription",
    "split",
    "DELETE",
    "MISSING",
    "ROOT_MUTATION",
    "ROOT_QUERY",
    "CacheError",
    "CacheStatus",
    "Decision",
    "DocumentError",
    "ErrorPolicy",
    "FetchPolicy",
    "FieldPolicy",
    "GraphQLErrors",
    "NormalizedCache",
    "ReadResult",
    "Ref",
    "SqliteStore",
    "StoreVersionError",
    "VariableError",
    "Watch",
    "WriteError",
    "WriteReport",
    "add_typename",
    "append",
    "apply_error_policy",
    "decide",
    "decide_mutation",
    "load",
    "offset_limit",
    "parse_document",
    "save",
    "status_of",
]
