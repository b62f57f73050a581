"""What notebook 08 measures, as data and as text: no sockets, no clock (importable alone).

* :class:`Fault` and :data:`FAULTS`: the faults of the matrix, by key;
* :class:`Window`: when a fault began, struck and was mended;
* :class:`Cell`: what one client did under one fault (:mod:`rtlab.teaching.faults` fills
  them in); :func:`table` and :func:`grid` print them;
* :class:`Bytes`: what one pushed message cost on the wire (:mod:`rtlab.teaching.transports`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fault:
    key: str
    name: str
    what: str


FAULTS: dict[str, Fault] = {f.key: f for f in (
    Fault("kill", "kill + restart", "SIGKILL, down for a while, restarted on the same port"),
    Fault("sigstop", "SIGSTOP freeze", "the whole process stopped, then continued (hung)"),
    Fault("freeze", "chaos freeze", "open links stop reading and writing; new ones work"),
    Fault("drop", "drop", "every open connection reset (no close frame)"),
    Fault("reject", "reject 503", "new connections refused with 503 for a while, then a drop"),
    Fault("proxy", "upgrade blocked", "connect through a proxy that refuses WebSocket upgrades"),
    Fault("malformed", "malformed frame", "the client sends what the server cannot use"),
)}


@dataclass(frozen=True)
class Window:
    """When a fault began (``started``), was in force (``struck``) and was over for new
    connections (``mended``), on the clients' clock."""

    started: float
    struck: float
    mended: float


@dataclass(frozen=True)
class Cell:
    """What one client did under one fault (module docs)."""

    transport: str
    fault: str
    recovered: bool
    back_after: float | None
    noticed_after: float | None
    delivered: int
    lost: int
    duplicated: int
    bound: float | None
    stopped: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def within_bound(self) -> bool | None:
        if self.bound is None or self.back_after is None:
            return None
        return self.back_after <= self.bound

    def verdict(self) -> str:
        """A word that does not change from run to run: back, stopped, or never back."""
        if self.recovered:
            return "back" if self.noticed_after is not None or self.fault == "proxy" \
                else "back, never noticed"
        return "stopped" if self.stopped else "not back"


@dataclass(frozen=True)
class Bytes:
    """Bytes per pushed message: on the wire each way, and the JSON the application got."""

    transport: str
    messages: int
    down: float
    up: float
    app: float

    @property
    def wire(self) -> float:
        return self.down + self.up

    @property
    def overhead(self) -> float:
        """Wire bytes (both ways) beyond the application's own, per message (negative when
        compression packs the JSON smaller than it is)."""
        return self.wire - self.app


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def table(cells: Iterable[Cell], *, notes: bool = True) -> str:
    """One line per cell: fault, client, back or not and when, lost, duplicated, notes."""
    cells = list(cells)
    width = max([len(c.transport) for c in cells] + [len("client")])
    lines = [f"{'fault':<16} {'client':<{width}} {'verdict':<20} {'noticed':>8} "
             f"{'back after':>10} {'bound':>7} {'lost':>5} {'dup':>4}"
             + ("  note" if notes else "")]
    for c in cells:
        note = "; ".join(([c.stopped[:70]] if c.stopped else []) + list(c.notes))
        bound = "-" if c.bound is None else f"{c.bound:.1f} s"
        line = (f"{FAULTS[c.fault].name:<16} {c.transport:<{width}} {c.verdict():<20} "
                f"{_seconds(c.noticed_after):>8} {_seconds(c.back_after):>10} {bound:>7} "
                f"{c.lost:>5} {c.duplicated:>4}")
        lines.append(line + (f"  {note}" if notes and note else ""))
    return "\n".join(lines)


def grid(cells: Iterable[Cell]) -> str:
    """The verdicts as a matrix, faults down and clients across (stable from run to run)."""
    cells = list(cells)
    clients = list(dict.fromkeys(c.transport for c in cells))
    faults = list(dict.fromkeys(c.fault for c in cells))
    by = {(c.fault, c.transport): c for c in cells}
    width = max(len(text) for c in cells for text in (c.verdict(), c.transport)) + 2
    lines = [(f"{'':<16}" + "".join(f"{t:<{width}}" for t in clients)).rstrip()]
    for fault in faults:
        row = "".join(f"{by[fault, t].verdict() if (fault, t) in by else '':<{width}}"
                      for t in clients)
        lines.append(f"{FAULTS[fault].name:<16}{row}".rstrip())
    return "\n".join(lines)
