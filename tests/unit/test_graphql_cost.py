"""The static cost and depth of a GraphQL operation (servers.graphql.cost), on the demo schema
and on a schema that is not ours, and the limits that refuse before execution."""

from __future__ import annotations

import strawberry
from graphql import parse

from servers.graphql import limits
from servers.graphql.cost import Measure, measure
from servers.graphql.schema import build_schema

SCHEMA = build_schema()._schema
NESTED = ("{ posts(limit: 100) { author { posts(limit: 100) { author { posts(limit: 100) "
          "{ author { posts(limit: 100) { id title } } } } } } } }")


def cost(query: str, variables: dict | None = None, name: str | None = None) -> Measure | None:
    return measure(SCHEMA, parse(query), name, variables)


def test_list_sizes_multiply_down_the_tree() -> None:
    # 1 + 100 * (1 + 1 + 100 * (1 + 1 + 100 * (1 + 1 + 100 * 2)))
    assert cost(NESTED) == Measure(depth=7, cost=202_020_201)
    assert limits.refusal(cost(NESTED), None).extensions["code"] == "QUERY_TOO_COSTLY"


def test_a_field_costs_once_per_repetition_and_scalars_are_leaves() -> None:
    assert cost('{ user(id: "1") { id name } }') == Measure(depth=1, cost=3)
    assert cost("{ posts { id title } }") == Measure(depth=1, cost=21)  # limit defaults to 10
    # comments has no limit argument: ASSUMED_LIST items of 2 fields, per post
    assert cost("{ posts(limit: 2) { comments { id content } } }").cost == 1 + 2 * (1 + 10 * 2)


def test_limits_come_from_literals_variables_and_defaults_clamped() -> None:
    q = "query Q($n: Int) { posts(limit: $n) { id } }"
    assert cost(q, {"n": 3}).cost == 4
    assert cost(q).cost == 11  # the argument's own default (10)
    assert cost("query Q($n: Int = 7) { posts(limit: $n) { id } }").cost == 8
    assert cost("{ posts(limit: 99999999999999999999) { id } }").cost == 101  # clamped to 100
    assert cost(q, {"n": "many"}).cost == 101  # not an int: assume the worst
    assert cost("{ posts(limit: -5) { id } }").cost == 1


def test_fragments_count_where_spread_and_are_measured_once() -> None:
    assert cost("{ posts(limit: 2) { ...P ...P } } fragment P on Post { id title }").cost == 9
    chain = " ".join(f"fragment F{i} on Post {{ id ...F{i + 1} ...F{i + 1} }}"
                     for i in range(300)) + " fragment F300 on Post { id }"
    huge = cost("{ posts(limit: 1) { ...F0 } } " + chain).cost  # 2^300 spreads, linear work
    assert huge > 2**300 and limits.refusal(Measure(1, huge), None).message.count("10^") == 1


def test_what_validation_reports_costs_nothing_here() -> None:
    assert cost("{ ...Missing }") == Measure(0, 0)
    assert cost("{ ...A } fragment A on Query { ...A }") == Measure(0, 0)
    assert cost("{ nope { deeper } }") == Measure(0, 0)
    assert cost("query A { posts { id } } query B { me { id } }") is None  # which one?
    assert cost("query A { posts { id } } query B { me { id } }", name="B").cost == 2


def test_introspection_is_free() -> None:
    assert cost("{ __schema { types { fields { name type { name } } } } }") == Measure(0, 0)


def test_depth_refusal_keeps_the_familiar_words() -> None:
    deep = cost('{ user(id: "1") { posts { author { posts { author { posts { author { posts '
                "{ author { id } } } } } } } } } }")
    problem = limits.refusal(deep, None)
    assert deep.depth == 9 and "maximum operation depth of 8" in problem.message


@strawberry.type
class Item:
    name: str

    @strawberry.field
    def children(self, first: int = 5) -> list[Item]:
        return []


@strawberry.type
class ItemQuery:
    @strawberry.field
    def items(self, last: int = 3) -> list[Item]:
        return []


def test_cost_works_on_a_schema_that_is_not_ours() -> None:
    schema = strawberry.Schema(query=ItemQuery)._schema
    doc = parse("{ items(last: 4) { name children(first: 6) { name } } }")
    assert measure(schema, doc) == Measure(depth=2, cost=1 + 4 * (1 + 1 + 6 * 1))
