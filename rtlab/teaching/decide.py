"""Which transports meet a set of needs, and why, from what a notebook measured.

The chapter's "When to choose which" is four sentences. Here each need is a rule over
:class:`Evidence` (the fault matrix's cells, round trips, bytes per message) or, where the
answer is the protocol's and not a number, over what the protocol allows, said so in the
reason. :func:`decide` is pure: the same evidence and needs give the same answer, so a
widget (:class:`rtlab.widgets.DecisionHelper`) and a test can both call it.

    evidence = Evidence(cells, round_trip_ms, push)
    for verdict in decide({"proxy", "upstream"}, evidence):
        print(verdict)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from rtlab.teaching.results import Bytes, Cell

TRANSPORTS = ("GraphQL", "WebSocket", "Socket.IO", "SSE")
#: Bytes per pushed message (both directions) under which "small" is met.
SMALL_BYTES = 50.0
#: Seconds within which a dead link must be noticed for "notice" to be met.
NOTICE_S = 1.0


@dataclass(frozen=True)
class Evidence:
    """What was measured: fault-matrix cells, median round trips (ms) and push bytes."""

    cells: tuple[Cell, ...] = ()
    round_trip_ms: Mapping[str, float] = field(default_factory=dict)
    push: Mapping[str, Bytes] = field(default_factory=dict)

    def cell(self, fault: str, transport: str) -> Cell | None:
        return next((c for c in self.cells if c.fault == fault and c.transport == transport),
                    None)


@dataclass(frozen=True)
class Need:
    key: str
    label: str


NEEDS: tuple[Need, ...] = (
    Need("proxy", "works behind a proxy that blocks WebSocket upgrades"),
    Need("upstream", "the client sends often, on the same connection"),
    Need("replay", "server-to-client messages survive a dropped link"),
    Need("notice", f"notices a frozen link within {NOTICE_S:g} s, by itself"),
    Need("binary", "binary payloads without base64"),
    Need("schema", "a typed schema: each screen asks for exactly its fields"),
    Need("small", f"under {SMALL_BYTES:g} bytes on the wire per pushed message"),
)


@dataclass(frozen=True)
class Verdict:
    transport: str
    ok: bool
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        mark = "✓" if self.ok else "✗"
        return f"{mark} {self.transport}: " + "; ".join(self.reasons)


Rule = Callable[[str, Evidence], tuple[bool, str]]


def _proxy(transport: str, ev: Evidence) -> tuple[bool, str]:
    cell = ev.cell("proxy", transport)
    if cell is None:
        return False, "not measured through the proxy"
    if cell.recovered:
        return True, f"through the proxy: delivering after {cell.back_after:.2f} s"
    return False, f"through the proxy: {_short(cell.stopped) or 'no delivery'}"


def _upstream(transport: str, ev: Evidence) -> tuple[bool, str]:
    ms = ev.round_trip_ms.get(transport)
    if transport == "SSE":
        return False, "no way up: each message is a separate HTTP request"
    if transport == "GraphQL":
        said = f" ({ms:.1f} ms a round trip)" if ms is not None else ""
        return False, f"sends by mutation, an HTTP request each{said}"
    if ms is None:
        return True, "sends on its socket (not measured)"
    return True, f"sends on its socket: {ms:.2f} ms a round trip"


def _replay(transport: str, ev: Evidence) -> tuple[bool, str]:
    drop = ev.cell("drop", transport)
    if transport == "SSE":
        lost = "not measured" if drop is None else f"{drop.lost} lost in a drop"
        return True, f"Last-Event-ID replays from the server's buffer ({lost})"
    if transport == "GraphQL":
        gap = sum(_gap_count(c) for c in ev.cells if c.transport == transport)
        return False, f"no replay in graphql-transport-ws ({gap} events lost in gaps here)"
    if transport == "Socket.IO":
        return False, "acks cover what the client sends; python-socketio has no replay"
    return False, "the protocol has none: what was pushed during the gap is gone"


def _notice(transport: str, ev: Evidence) -> tuple[bool, str]:
    cell = ev.cell("freeze", transport)
    if cell is None:
        return False, "not measured under a freeze"
    if cell.noticed_after is None:
        return False, "did not notice a frozen link (its heartbeat is the server's)"
    ok = cell.noticed_after <= NOTICE_S
    return ok, f"noticed a frozen link after {cell.noticed_after:.2f} s"


def _binary(transport: str, ev: Evidence) -> tuple[bool, str]:
    if transport == "WebSocket":
        return True, "binary frames (RFC 6455 opcode 0x2)"
    if transport == "Socket.IO":
        return True, "binary attachments (BINARY_EVENT packets)"
    if transport == "SSE":
        return False, "UTF-8 text only: base64 adds a third"
    return False, "JSON text: base64 adds a third"


def _schema(transport: str, ev: Evidence) -> tuple[bool, str]:
    if transport == "GraphQL":
        return True, "the schema types every field; a query selects them"
    return False, "messages are whatever the two ends agree on"


def _small(transport: str, ev: Evidence) -> tuple[bool, str]:
    push = ev.push.get(transport)
    if push is None:
        return False, "not measured"
    said = f"{push.wire:.0f} B on the wire per message ({push.app:.0f} B of JSON)"
    return push.wire < SMALL_BYTES, said


RULES: dict[str, Rule] = {"proxy": _proxy, "upstream": _upstream, "replay": _replay,
                          "notice": _notice, "binary": _binary, "schema": _schema,
                          "small": _small}


def _gap_count(cell: Cell) -> int:
    for note in cell.notes:
        if "published in the gap" in note:
            return int(note.split()[0])
    return 0


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decide(needs: Iterable[str], evidence: Evidence,
           transports: Iterable[str] = TRANSPORTS) -> list[Verdict]:
    """One verdict per transport: ok when it meets every need, with a reason for each
    (the failed ones first). No needs: every transport is ok."""
    wanted = [n for n in dict.fromkeys(needs)]
    unknown = [n for n in wanted if n not in RULES]
    if unknown:
        raise ValueError(f"unknown needs {unknown}; known: {sorted(RULES)}")
    verdicts = []
    for transport in transports:
        results = [RULES[need](transport, evidence) for need in wanted]
        failed = [reason for ok, reason in results if not ok]
        met = [reason for ok, reason in results if ok]
        verdicts.append(Verdict(transport, not failed, tuple(failed + met)))
    return verdicts


def report(needs: Iterable[str], evidence: Evidence) -> str:
    """The verdicts as text, those that meet every need first."""
    verdicts = decide(needs, evidence)
    ordered = [v for v in verdicts if v.ok] + [v for v in verdicts if not v.ok]
    return "\n".join(str(v) for v in ordered)
