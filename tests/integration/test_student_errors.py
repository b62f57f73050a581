"""The errors a student meets first point at what they wrote (real server, notebook 02)."""

from __future__ import annotations

import pytest

from rtlab.graphql import GraphQLClient, HttpLink, NormalizedCache, VariableError

ONE_LINE = 'query { user(id: "1") { id nmae } }'
USER = "query User($id: ID!) { user(id: $id) { id name } }"


async def test_a_validation_error_points_into_the_students_one_line(shared_server):
    async with GraphQLClient(HttpLink(shared_server.http_url("/graphql")),
                             NormalizedCache()) as client:
        answer = await client.query(ONE_LINE, fetch_policy="network-only")
    assert answer.state == "error" and "nmae" in answer.error
    assert answer.errors[0]["locations"] == [{"line": 1, "column": ONE_LINE.index("nmae") + 1}]


async def test_a_misspelt_variable_is_named_before_any_request(shared_server):
    async with GraphQLClient(HttpLink(shared_server.http_url("/graphql")),
                             NormalizedCache()) as client:
        with pytest.raises(VariableError, match=r"\$id is missing — did you mean `id`"):
            await client.query(USER, {"ID": "1"})
        assert client.network_calls == 0
