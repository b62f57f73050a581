"""The GET caching rules of the demo server (servers.graphql.httpcache), as a table.

The whole exchange (headers on the wire, a 304 with no body, a real HTTP cache in front)
is in tests/integration/test_graphql_optimize.py.
"""

from __future__ import annotations

import pytest

from servers.graphql.httpcache import (
    NO_STORE,
    PRIVATE,
    PUBLIC,
    cache_control,
    etag,
    matches,
    root_fields,
)

OK = {"data": {"user": {"id": "1"}}}


@pytest.mark.parametrize(("query", "name", "fields"), [
    ("{ user(id: 1) { id } posts { id } }", None, {"user", "posts"}),
    ("{ a: me { id } }", None, {"me"}),  # an alias does not hide the field
    ("query Q { ...F } fragment F on Query { me { id } }", None, {"me"}),
    ("{ ... on Query { notifications { id } } }", None, {"notifications"}),
    ("query A { user(id: 1) { id } } query B { me { id } }", "B", {"me"}),
    ("query A { user(id: 1) { id } } query B { me { id } }", None, None),  # which one?
    ("mutation { updateUser(input: {}) { id } }", None, None),
    ("{ user(", None, None),
])
def test_root_fields(query: str, name: str | None, fields: set[str] | None) -> None:
    assert root_fields(query, name) == fields


@pytest.mark.parametrize(("status", "body", "query", "signed_in", "expected"), [
    (200, OK, "{ user(id: 1) { id } }", False, PUBLIC),
    (200, OK, "{ user(id: 1) { id } }", True, PRIVATE),  # signed in: never shared
    (200, OK, "{ me { id } }", False, PRIVATE),
    (200, OK, "{ user(id: 1) { id } notifications { id } }", False, PRIVATE),
    (200, OK, "{ somethingAddedLater }", False, PRIVATE),  # not listed = not public
    (200, OK, None, False, PRIVATE),  # the document is unknown
    (200, {"data": None, "errors": [{"message": "x"}]}, "{ user(id: 1) { id } }", False,
     NO_STORE),
    (200, {"data": {"user": None}, "errors": [{"message": "x"}]}, "{ user(id: 1) { id } }",
     False, NO_STORE),
    (400, OK, "{ user(id: 1) { id } }", False, NO_STORE),
    (200, [OK], "{ user(id: 1) { id } }", False, NO_STORE),
])
def test_cache_control(status, body, query, signed_in, expected) -> None:
    assert cache_control(status=status, body=body, query=query, operation_name=None,
                         signed_in=signed_in) == expected


def test_public_means_short_lived() -> None:
    assert PUBLIC.startswith("public, max-age=") and 0 < int(PUBLIC.split("=")[1]) <= 60


def test_etag_is_weak_and_follows_the_bytes() -> None:
    assert etag(b"a") == etag(b"a") != etag(b"b")
    assert etag(b"a").startswith('W/"') and etag(b"a").endswith('"')


@pytest.mark.parametrize(("header", "hit"), [
    (None, False), ("", False), ('"other"', False),
    ("TAG", True), ("STRONG", True),  # weak comparison: W/ or not, the same tag matches
    ('"x", TAG', True), ("*", True),
])
def test_if_none_match_uses_weak_comparison(header: str | None, hit: bool) -> None:
    tag = etag(b"body")
    header = header.replace("STRONG", tag[2:]).replace("TAG", tag) if header else header
    assert matches(header, tag) is hit
