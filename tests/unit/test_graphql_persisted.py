"""PersistedQueryLink: the verdict table, and the requests it sends for each server answer.

The server here is a scripted stand-in that records every operation that reached it;
tests/integration/test_graphql_optimize.py runs the link against our server and
against a strawberry server that knows nothing of APQ.
"""

from __future__ import annotations

import pytest

from rtlab.graphql.links import Link, NetworkError, Operation, Response, chain
from rtlab.graphql.persisted import PersistedQueryLink, Verdict, judge, sha256_hex

QUERY = Operation.of("query U($id: ID!) { user(id: $id) { id name } }", {"id": "1"})
MUTATION = Operation.of('mutation M { updateUser(input: {name: "x"}) { id } }')
OK = Response(data={"user": {"id": "1", "name": "Alice"}})
NOT_FOUND = Response(errors=[{"message": "PersistedQueryNotFound",
                              "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}])
NOT_SUPPORTED = Response(errors=[{"message": "PersistedQueryNotSupported"}])
NO_QUERY = Response(errors=[{"message": "Must provide query string."}])
RAN_WITH_ERROR = Response(data={"user": None}, errors=[{"message": "boom", "path": ["user"]}])


class Scripted(Link):
    def __init__(self, *script: Response | Exception) -> None:
        self.script = list(script)
        self.seen: list[Operation] = []

    async def request(self, op, forward=None):
        self.seen.append(op)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        return step


def sent(op: Operation) -> tuple[str, bool, bool]:
    """(method, document included, hash included) of one request."""
    http = op.context.get("http", {})
    return (http.get("method", "POST"), http.get("include_query", True),
            "persistedQuery" in op.extensions)


@pytest.mark.parametrize(("answer", "verdict"), [
    (OK, Verdict.ANSWER),
    (RAN_WITH_ERROR, Verdict.ANSWER),  # it ran: the hash was found
    (NOT_FOUND, Verdict.RESEND),
    (Response(errors=[{"message": "x", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]),
     Verdict.RESEND),
    (NOT_SUPPORTED, Verdict.DISABLE),
    (Response(errors=[{"message": "x", "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"}}]),
     Verdict.DISABLE),
    (NO_QUERY, Verdict.PROBE),
])
def test_verdict_on_an_answer(answer: Response, verdict: Verdict) -> None:
    assert judge(answer) is verdict


@pytest.mark.parametrize(("status", "verdict"), [
    (None, Verdict.RAISE), (503, Verdict.RAISE), (429, Verdict.RAISE), (401, Verdict.RAISE),
    (400, Verdict.PROBE), (405, Verdict.PROBE),
])
def test_verdict_on_a_network_error(status: int | None, verdict: Verdict) -> None:
    assert judge(error=NetworkError("x", status)) is verdict


async def test_hit_sends_the_hash_only() -> None:
    server = Scripted(OK)
    apq = PersistedQueryLink()
    assert await chain(apq, server).request(QUERY) is OK
    [op] = server.seen
    assert sent(op) == ("POST", False, True)
    assert op.extensions["persistedQuery"] == {"version": 1, "sha256Hash": sha256_hex(QUERY.query)}
    assert (apq.hashed, apq.misses, apq.full, apq.enabled) == (1, 0, 0, True)


async def test_miss_then_the_document_by_post_with_the_hash() -> None:
    server = Scripted(NOT_FOUND, OK)
    apq = PersistedQueryLink(use_get=True)
    assert await chain(apq, server).request(QUERY) is OK
    assert [sent(op) for op in server.seen] == [("GET", False, True), ("POST", True, True)]
    assert (apq.misses, apq.full, apq.enabled) == (1, 1, True)


async def test_a_server_that_always_misses_is_asked_twice_per_operation_not_forever() -> None:
    server = Scripted(NOT_FOUND)  # says NotFound to everything, forever
    apq = PersistedQueryLink()
    answer = await chain(apq, server).request(QUERY)
    assert answer is NOT_FOUND and len(server.seen) == 2


async def test_not_supported_turns_it_off_for_good() -> None:
    server = Scripted(NOT_SUPPORTED, OK)
    apq = PersistedQueryLink(use_get=True)
    link = chain(apq, server)
    assert await link.request(QUERY) is OK
    assert not apq.enabled and "NotSupported" in (apq.disabled or "")
    assert sent(server.seen[1]) == ("POST", True, False)  # no hash any more
    await link.request(QUERY)
    assert sent(server.seen[2]) == ("POST", True, False) and len(server.seen) == 3


async def test_a_server_without_apq_is_found_out_when_the_document_fixes_it() -> None:
    server = Scripted(NetworkError("HTTP 400: No GraphQL query found", 400), OK)
    apq = PersistedQueryLink()
    link = chain(apq, server)
    assert await link.request(QUERY) is OK
    assert not apq.enabled and "HTTP 400" in (apq.disabled or "")
    await link.request(QUERY)
    assert [sent(op) for op in server.seen] == [
        ("POST", False, True), ("POST", True, True), ("POST", True, False)]


async def test_a_failure_the_document_does_not_fix_is_not_blamed_on_apq() -> None:
    bad_variables = Response(errors=[{"message": "Variable '$id' got invalid value"}])
    server = Scripted(bad_variables, bad_variables)
    apq = PersistedQueryLink()
    assert await chain(apq, server).request(QUERY) is bad_variables
    assert apq.enabled and len(server.seen) == 2


async def test_no_answer_at_all_is_raised_without_a_resend() -> None:
    server = Scripted(NetworkError("refused"))
    apq = PersistedQueryLink()
    with pytest.raises(NetworkError):
        await chain(apq, server).request(QUERY)
    assert len(server.seen) == 1 and apq.enabled


async def test_mutations_are_hashed_but_never_sent_with_get() -> None:
    server = Scripted(NOT_FOUND, OK)
    await chain(PersistedQueryLink(use_get=True), server).request(MUTATION)
    assert [sent(op) for op in server.seen] == [("POST", False, True), ("POST", True, True)]
