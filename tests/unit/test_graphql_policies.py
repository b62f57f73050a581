"""The fetch-policy and error-policy tables: one case per cell, written out by hand."""

from __future__ import annotations

import pytest

from rtlab.graphql import NormalizedCache
from rtlab.graphql.policies import (
    ERROR_TABLE,
    FETCH_TABLE,
    Answer,
    CacheStatus,
    ErrorPolicy,
    FetchPolicy,
    GraphQLErrors,
    Now,
    Then,
    answer_of,
    apply_error_policy,
    decide,
    decide_mutation,
    status_of,
)

C, P, M = "complete", "partial", "missing"

# (policy, cache status) -> (now, network?, write?, then)
FETCH_CASES = [
    ("cache-first", C, "cached", False, False, "nothing"),
    ("cache-first", P, "loading", True, True, "read-back"),
    ("cache-first", M, "loading", True, True, "read-back"),
    ("cache-and-network", C, "cached", True, True, "read-back"),
    ("cache-and-network", P, "loading", True, True, "read-back"),
    ("cache-and-network", M, "loading", True, True, "read-back"),
    ("network-only", C, "loading", True, True, "read-back"),
    ("network-only", P, "loading", True, True, "read-back"),
    ("network-only", M, "loading", True, True, "read-back"),
    ("no-cache", C, "loading", True, False, "answer"),
    ("no-cache", P, "loading", True, False, "answer"),
    ("no-cache", M, "loading", True, False, "answer"),
    ("cache-only", C, "cached", False, False, "nothing"),
    ("cache-only", P, "miss", False, False, "nothing"),
    ("cache-only", M, "miss", False, False, "nothing"),
]


@pytest.mark.parametrize(("policy", "status", "now", "network", "write", "then"), FETCH_CASES)
def test_fetch_policy_cell(policy, status, now, network, write, then) -> None:
    d = decide(policy, status)
    assert (d.now, d.network, d.write, d.then) == (Now(now), network, write, Then(then))


def test_the_fetch_table_has_exactly_these_cells() -> None:
    assert {(FetchPolicy(p), CacheStatus(s)) for p, s, *_ in FETCH_CASES} == set(FETCH_TABLE)


def test_unknown_fetch_policy_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown fetch policy 'cache-maybe'.*cache-first"):
        decide("cache-maybe", C)


def test_mutations_always_go_to_the_network() -> None:
    assert decide_mutation("network-only").write and decide_mutation("network-only").network
    # the chapter's mutate default: the answer never reaches the normalized store
    chapter = decide_mutation(FetchPolicy.NO_CACHE)
    assert chapter.network and not chapter.write
    with pytest.raises(ValueError, match="a mutation takes network-only or no-cache"):
        decide_mutation("cache-first")


def test_status_from_a_real_cache_read_drives_the_decision() -> None:
    q = "query U($id: ID!) { user(id: $id) { id name email } }"
    cache = NormalizedCache()
    diff = cache.diff(q, {"id": "1"})
    assert status_of(diff.complete, diff.data) is CacheStatus.MISSING
    cache.write_query("query U($id: ID!) { user(id: $id) { id name } }", {"id": "1"},
                      {"user": {"__typename": "User", "id": "1", "name": "A"}})
    diff = cache.diff(q, {"id": "1"})
    assert status_of(diff.complete, diff.data) is CacheStatus.PARTIAL
    assert decide("cache-first", status_of(diff.complete, diff.data)).network
    cache.write_query(q, {"id": "1"}, {"user": {"__typename": "User", "id": "1", "name": "A",
                                                "email": "a@x"}})
    diff = cache.diff(q, {"id": "1"})
    assert not decide("cache-first", status_of(diff.complete, diff.data)).network


DATA = {"user": {"id": "1", "me": None}}
ERRORS = [{"message": "Not signed in", "path": ["user", "me"],
           "extensions": {"code": "UNAUTHENTICATED"}}]

# (policy, answer) -> (raises?, data?, errors?, write?)
ERROR_CASES = [
    ("none", "ok", False, True, False, True),
    ("none", "partial", True, False, False, False),
    ("none", "errors", True, False, False, False),
    ("none", "network", True, False, False, False),
    ("ignore", "ok", False, True, False, True),
    ("ignore", "partial", False, True, False, True),
    ("ignore", "errors", False, True, False, False),
    ("ignore", "network", True, False, False, False),
    ("all", "ok", False, True, False, True),
    ("all", "partial", False, True, True, True),
    ("all", "errors", False, True, True, False),
    ("all", "network", True, False, False, False),
]


@pytest.mark.parametrize(("policy", "answer", "raises", "data", "errors", "write"), ERROR_CASES)
def test_error_policy_cell(policy, answer, raises, data, errors, write) -> None:
    cell = ERROR_TABLE[(ErrorPolicy(policy), Answer(answer))]
    assert (cell.raise_error, cell.data, cell.errors, cell.write) == (raises, data, errors, write)
    if answer == "network":
        return  # no GraphQL answer to apply a policy to: the caller raises the network error
    body_data = None if answer == "errors" else DATA
    body_errors = None if answer == "ok" else ERRORS
    assert answer_of(body_data, body_errors) is Answer(answer)
    if raises:
        with pytest.raises(GraphQLErrors, match="Not signed in") as info:
            apply_error_policy(policy, body_data, body_errors)
        assert info.value.errors == ERRORS
        return
    outcome = apply_error_policy(policy, body_data, body_errors)
    assert outcome.data == (body_data if data else None)
    assert outcome.errors == (tuple(ERRORS) if errors else None)
    assert outcome.write == (write and body_data is not None)


def test_the_error_table_has_exactly_these_cells() -> None:
    assert {(ErrorPolicy(p), Answer(a)) for p, a, *_ in ERROR_CASES} == set(ERROR_TABLE)


def test_graphql_errors_message_counts_the_rest() -> None:
    err = GraphQLErrors([{"message": "a"}, {"message": "b"}, {"message": "c"}])
    assert str(err) == "a (and 2 more)"
