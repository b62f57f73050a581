"""Document errors a student meets: a misspelt variable, and where a server's error points."""

from __future__ import annotations

import pytest
from graphql import print_ast

from rtlab.graphql.documents import (
    VariableError,
    add_typename,
    checked_variables,
    operation_of,
    parse_document,
    source_locations,
)

USER = (
    "query User($id: ID!, $limit: Int = 3) "
    "{ user(id: $id) { id nmae posts(limit: $limit) { id } } }"
)


def check(variables):
    doc = add_typename(parse_document(USER))
    return checked_variables(doc, operation_of(doc), variables)


def test_a_variable_in_the_wrong_case_is_named_not_declared() -> None:
    with pytest.raises(VariableError) as caught:
        check({"ID": "1"})
    message = str(caught.value)
    assert "$id is missing — did you mean `id` instead of `ID`?" in message
    assert "case-sensitive" in message and "declare $ID" not in message


def test_a_near_miss_is_suggested_and_a_stranger_is_refused() -> None:
    with pytest.raises(VariableError, match=r"\$id is missing — did you mean `id` instead of"):
        check({"idd": "1"})
    with pytest.raises(VariableError, match=r"\$limit is missing — did you mean `limit`"):
        check({"id": "1", "limt": 5})  # $limit has a default, the typo would be ignored
    with pytest.raises(VariableError, match=r"'offset' passed, but .* does not declare it"):
        check({"id": "1", "offset": 10})
    assert check({"id": "1"}) == {"id": "1", "limit": 3}


def test_server_locations_move_back_into_the_text_the_student_wrote() -> None:
    sent = add_typename(parse_document(USER))
    printed = print_ast(sent).splitlines()
    line = next(n for n, text in enumerate(printed, start=1) if "nmae" in text)
    column = printed[line - 1].index("nmae") + 1
    assert (line, column) != (1, USER.index("nmae") + 1)  # the printed copy differs
    errors = [
        {"message": "Cannot query field 'nmae'", "locations": [{"line": line, "column": column}],
         "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}},
        {"message": "no location"},
        {"message": "not a node start", "locations": [{"line": 999, "column": 1}]},
    ]
    moved = source_locations(sent, errors)
    assert moved[0]["locations"] == [{"line": 1, "column": USER.index("nmae") + 1}]
    assert moved[0]["extensions"] == errors[0]["extensions"]
    assert moved[1:] == errors[1:]
    assert errors[0]["locations"] == [{"line": line, "column": column}]  # not mutated


def test_a_document_written_as_printed_keeps_its_locations() -> None:
    sent = add_typename(parse_document(USER))
    rebuilt = parse_document(print_ast(sent))  # the student wrote exactly the printed form
    errors = [{"message": "m", "locations": [{"line": 4, "column": 5}]}]
    assert source_locations(rebuilt, errors) == errors
