"""BatchPlan, the pure core of query batching: which queued operations go together, and when.

Time is passed in, so every deadline here is an exact number. The HTTP shell
(BatchHttpLink) is tested against real servers in tests/integration/test_graphql_optimize.py.
"""

from __future__ import annotations

import pytest

from rtlab.graphql.batch import BatchHttpLink, BatchPlan
from rtlab.graphql.links import Operation

QUERY = Operation.of("query Q { posts { id } }")
MUTATION = Operation.of('mutation M { updateUser(input: {name: "x"}) { id } }')
SUBSCRIPTION = Operation.of("subscription S { postCreated { id } }")


def test_first_item_waits_the_interval_then_the_batch_is_due_in_order() -> None:
    plan = BatchPlan(interval=0.010, max_size=10)
    assert plan.add("k", "a", now=1.000) is None
    assert plan.add("k", "b", now=1.004) is None
    assert plan.next_due() == pytest.approx(1.010)  # throttle: the first item sets it
    assert plan.due(1.009) == []
    assert plan.due(1.010) == [("k", ["a", "b"])]
    assert plan.next_due() is None and plan.waiting() == 0


def test_a_full_batch_goes_at_once() -> None:
    plan = BatchPlan(interval=10.0, max_size=3)
    assert plan.add("k", 1, now=0) is None
    assert plan.add("k", 2, now=0) is None
    assert plan.add("k", 3, now=0) == [1, 2, 3]
    assert plan.next_due() is None
    assert plan.add("k", 4, now=5) is None  # the next batch starts its own wait
    assert plan.next_due() == 15


def test_debounce_restarts_the_wait_with_every_item() -> None:
    throttle, debounce = BatchPlan(interval=1.0), BatchPlan(interval=1.0, debounce=True)
    for plan in (throttle, debounce):
        for t in (0.0, 0.5, 0.9):
            plan.add("k", t, now=t)
    assert throttle.next_due() == 1.0
    assert debounce.next_due() == pytest.approx(1.9)
    assert debounce.due(1.5) == [] and throttle.due(1.5) == [("k", [0.0, 0.5, 0.9])]


def test_keys_batch_apart_and_come_due_in_deadline_order() -> None:
    plan = BatchPlan(interval=1.0)
    plan.add("late", "x", now=0.5)
    plan.add("early", "y", now=0.0)
    plan.add("late", "z", now=0.6)
    assert plan.due(2.0) == [("early", ["y"]), ("late", ["x", "z"])]


def test_zero_interval_means_the_same_loop_turn_and_discard_drops_a_waiting_item() -> None:
    plan = BatchPlan(interval=0.0)
    plan.add("k", "a", now=3.0)
    plan.add("k", "b", now=3.0)
    assert plan.discard("k", "a") and not plan.discard("k", "a")
    assert plan.due(3.0) == [("k", ["b"])]
    plan.add("k", "c", now=4.0)
    assert plan.discard("k", "c") and plan.next_due() is None and plan.due(9.0) == []


def test_take_all_empties_every_queue() -> None:
    plan = BatchPlan(interval=5.0)
    plan.add("a", 1, now=0)
    plan.add("b", 2, now=0)
    assert sorted(plan.take_all()) == [("a", [1]), ("b", [2])]
    assert plan.waiting() == 0 and plan.next_due() is None


@pytest.mark.parametrize("kwargs", [{"interval": -1}, {"max_size": 0}])
def test_bad_settings_are_refused(kwargs) -> None:
    with pytest.raises(ValueError):
        BatchPlan(**kwargs)


def test_what_may_share_a_batch() -> None:
    link = BatchHttpLink("http://127.0.0.1:9/graphql", headers={"X-App": "1"})
    assert link.batchable(QUERY)
    assert not link.batchable(MUTATION)  # alone, unless batch_mutations=True
    assert BatchHttpLink("http://127.0.0.1:9/graphql", batch_mutations=True).batchable(MUTATION)
    assert not link.batchable(QUERY.with_context(batch=False))
    assert not link.batchable(QUERY.with_context(http={"method": "GET"}))
    with pytest.raises(ValueError, match="subscription"):
        link.batchable(SUBSCRIPTION)
    # queries and mutations never share a key; nor do different headers
    assert link.key_of(QUERY) != link.key_of(MUTATION)
    assert link.key_of(QUERY) != link.key_of(QUERY.with_headers({"Authorization": "Bearer b"}))
    assert link.key_of(QUERY) == link.key_of(Operation.of("{ user(id: 1) { id } }"))
    custom = BatchHttpLink("http://127.0.0.1:9/graphql",
                           batch_key=lambda op: op.context.get("tenant"))
    assert custom.key_of(QUERY.with_context(tenant="a")) != custom.key_of(
        QUERY.with_context(tenant="b"))
