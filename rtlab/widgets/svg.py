"""Pure SVG drawings for the course: backoff lanes, attempt histograms, the state diagram.

Plain functions from numbers to an SVG string: no widgets, no clock, no
randomness, so the same input always gives the same bytes (notebooks can
check them, tests can parse them). Every piece of text is escaped.
Marks carry a ``class`` (``attempt``, ``bin``, ``edge``, ``state``, ...) and
``data-*`` attributes so tests and browser checks can count them.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from rtlab.state import ConnectionState

#: One colour per connection state, shared with the status pill.
STATE_COLORS: dict[str, str] = {
    "disconnected": "#9e9e9e",
    "connecting": "#f0a30a",
    "connected": "#2e9d48",
    "reconnecting": "#f0a30a",
    "error": "#d64541",
}
#: Colours for the series of a chart, in order.
SERIES_COLORS: tuple[str, ...] = ("#3b6fb6", "#e07b39", "#4a9e5c", "#9b59b6", "#c0392b", "#16a085")
_FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"
_INK = "#333"
_GRID = "#ddd"


def esc(text: object) -> str:
    """Escape text for SVG/HTML content and attribute values."""
    return html.escape(str(text), quote=True)


def _n(x: float) -> str:
    """A coordinate, rounded so output is stable and short."""
    v = round(float(x), 1)
    return str(int(v)) if v == int(v) else f"{v:.1f}"


def _secs(v: float) -> str:
    return f"{v:.3g}s" if v < 1000 else f"{v:.0f}s"


def _ms(v: float) -> str:
    return f"{v / 1000:g}s" if v >= 1000 else f"{v:g}ms"


def nice_step(span: float, target: int = 8) -> float:
    """A 1-2-5 step that cuts ``span`` into at most about ``target`` ticks."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(1, target)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def _open(width: float, height: float, cls: str, title: str | None) -> list[str]:
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{esc(cls)}" width="{_n(width)}" '
        f'height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" role="img" '
        f'font-family="{esc(_FONT)}" font-size="11">'
    ]
    if title:
        out.append(f"<title>{esc(title)}</title>")
        out.append(
            f'<text class="title" x="{_n(width / 2)}" y="14" text-anchor="middle" '
            f'font-weight="600" fill="{_INK}">{esc(title)}</text>'
        )
    return out


def _short_label(text: str, limit: int = 18) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _time_axis(
    x0: float, x1: float, y: float, t_max: float, out: list[str], t_min: float = 0.0
) -> None:
    """Ticks and labels for seconds t_min..t_max mapped onto x0..x1."""
    out.append(f'<line x1="{_n(x0)}" y1="{_n(y)}" x2="{_n(x1)}" y2="{_n(y)}" stroke="{_INK}"/>')
    span = (t_max - t_min) or 1.0
    step = nice_step(span)
    k = math.ceil(t_min / step - 1e-9)
    while k * step <= t_max + span * 1e-9:
        t = k * step
        x = x0 + (x1 - x0) * (t - t_min) / span
        out.append(
            f'<line class="tick" x1="{_n(x)}" y1="{_n(y)}" x2="{_n(x)}" y2="{_n(y + 4)}" '
            f'stroke="{_INK}"/>'
        )
        out.append(
            f'<text x="{_n(x)}" y="{_n(y + 15)}" text-anchor="middle" fill="{_INK}">'
            f"{esc(f'{t:g}s')}</text>"
        )
        k += 1


def lanes(
    series: Mapping[str, Sequence[float]],
    *,
    width: int = 640,
    lane_height: int = 30,
    title: str | None = None,
) -> str:
    """Delay sequences as lanes: cumulative time on x, one dot per attempt.

    Shows at a glance how fast each policy gives up hammering the server and
    how far apart (or bunched) its attempts are.
    """
    names = list(series)
    left, right = 120, 80
    top = 26 if title else 8
    plot_w = max(40, width - left - right)
    totals = {name: float(sum(series[name])) for name in names}
    t_max = max([*totals.values(), 0.0]) or 1.0
    height = top + lane_height * max(1, len(names)) + 28
    out = _open(width, height, "rtlab-lanes", title)

    def x(t: float) -> float:
        return left + plot_w * t / t_max

    for i, name in enumerate(names):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        y = top + lane_height * i + lane_height / 2
        out.append(f'<g class="lane" data-name="{esc(name)}" data-attempts="{len(series[name])}">')
        out.append(
            f'<text class="label" x="{left - 8}" y="{_n(y + 4)}" text-anchor="end" '
            f'fill="{_INK}"><title>{esc(name)}</title>{esc(_short_label(name))}</text>'
        )
        out.append(
            f'<line x1="{left}" y1="{_n(y)}" x2="{_n(left + plot_w)}" y2="{_n(y)}" '
            f'stroke="{_GRID}"/>'
        )
        cumulative = 0.0
        for n, delay in enumerate(series[name], start=1):
            cumulative += float(delay)
            tip = f"{name}: attempt {n} waited {_secs(float(delay))}, starts at {_secs(cumulative)}"
            out.append(
                f'<circle class="attempt" data-attempt="{n}" cx="{_n(x(cumulative))}" '
                f'cy="{_n(y)}" r="4" fill="{color}" fill-opacity="0.8">'
                f"<title>{esc(tip)}</title></circle>"
            )
        out.append(
            f'<text class="total" x="{_n(left + plot_w + 8)}" y="{_n(y + 4)}" '
            f'fill="{_INK}">{esc("total " + _secs(totals[name]))}</text>'
        )
        out.append("</g>")
    _time_axis(left, left + plot_w, top + lane_height * max(1, len(names)) + 4, t_max, out)
    out.append("</svg>")
    return "".join(out)


def bin_counts(
    times: Iterable[float], bin_ms: float = 100, *, start: float = 0.0, bins: int | None = None
) -> list[int]:
    """Count times (seconds) per ``bin_ms`` bin from ``start``: the input of :func:`histogram`.

    Times before ``start`` (or past ``bins`` bins, when given) are ignored.
    """
    if bin_ms <= 0:
        raise ValueError(f"bin_ms must be > 0, got {bin_ms}")
    counts: list[int] = [0] * (bins or 0)
    for t in times:
        index = math.floor((t - start) * 1000 / bin_ms + 1e-9)
        if index < 0 or (bins is not None and index >= bins):
            continue
        if index >= len(counts):
            counts.extend([0] * (index + 1 - len(counts)))
        counts[index] += 1
    return counts


def histogram(
    counts: Sequence[int] | Mapping[str, Sequence[int]],
    bin_ms: float = 100,
    *,
    width: int = 640,
    height: int = 220,
    title: str | None = None,
    ylabel: str = "attempts",
) -> str:
    """Counts per time bin as bars; several named series side by side in each bin.

    Made for the thundering herd: connection attempts per 100 ms, without
    jitter (one tall spike) next to with jitter (a low spread).
    """
    if isinstance(counts, Mapping):
        named = [(str(k), list(v)) for k, v in counts.items()]
    else:
        named = [("", list(counts))]
    nbins = max((len(v) for _, v in named), default=0)
    ymax = max((c for _, v in named for c in v), default=0) or 1
    left, right, bottom = 44, 24, 30
    top = (26 if title else 8) + (16 if any(name for name, _ in named) else 0)
    plot_w = max(20, width - left - right)
    plot_h = max(20, height - top - bottom)
    base = top + plot_h
    out = _open(width, height, "rtlab-histogram", title)
    # Legend.
    if any(name for name, _ in named):
        lx = left
        for i, (name, _) in enumerate(named):
            color = SERIES_COLORS[i % len(SERIES_COLORS)]
            ly = top - 12
            out.append(
                f'<rect class="legend" x="{_n(lx)}" y="{_n(ly - 8)}" width="10" height="10" '
                f'fill="{color}"/>'
            )
            out.append(f'<text x="{_n(lx + 14)}" y="{_n(ly + 1)}" fill="{_INK}">{esc(name)}</text>')
            lx += 24 + 7 * len(name)
    # Horizontal grid and y labels.
    for frac in (0.5, 1.0):
        y = base - plot_h * frac
        value = ymax * frac
        label = f"{value:g}" if value == int(value) else f"{value:.1f}"
        out.append(
            f'<line x1="{left}" y1="{_n(y)}" x2="{_n(left + plot_w)}" y2="{_n(y)}" '
            f'stroke="{_GRID}"/>'
        )
        out.append(
            f'<text x="{left - 4}" y="{_n(y + 4)}" text-anchor="end" fill="{_INK}">{label}</text>'
        )
    out.append(
        f'<text x="10" y="{_n(top + plot_h / 2)}" text-anchor="middle" fill="{_INK}" '
        f'transform="rotate(-90 10 {_n(top + plot_h / 2)})">{esc(ylabel)}</text>'
    )
    group = plot_w / max(1, nbins)
    bar = group * 0.8 / max(1, len(named))
    for i, (name, values) in enumerate(named):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        for b in range(nbins):
            c = values[b] if b < len(values) else 0
            h = plot_h * c / ymax
            x = left + group * b + group * 0.1 + bar * i
            lo, hi = b * bin_ms, (b + 1) * bin_ms
            tip = f"{name + ': ' if name else ''}{_ms(lo)}–{_ms(hi)}: {c}"
            out.append(
                f'<rect class="bin" data-series="{esc(name)}" data-bin="{b}" data-count="{c}" '
                f'x="{_n(x)}" y="{_n(base - h)}" width="{_n(bar)}" height="{_n(h)}" '
                f'fill="{color}"><title>{esc(tip)}</title></rect>'
            )
    # X axis at bin edges, labelled at most ~10 times.
    out.append(
        f'<line x1="{left}" y1="{base}" x2="{_n(left + plot_w)}" y2="{base}" stroke="{_INK}"/>'
    )
    every = max(1, math.ceil(nbins / 10))
    for b in range(0, nbins + 1, every):
        x = left + group * b
        out.append(
            f'<line class="tick" x1="{_n(x)}" y1="{base}" x2="{_n(x)}" y2="{base + 4}" '
            f'stroke="{_INK}"/>'
        )
        out.append(
            f'<text x="{_n(x)}" y="{base + 15}" text-anchor="middle" fill="{_INK}">'
            f"{esc(_ms(b * bin_ms))}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _node_order(names: Iterable[str]) -> list[str]:
    names = set(names)
    known = [s.value for s in ConnectionState if s.value in names]
    return known + sorted(names - set(known))


def state_diagram(
    rows: Iterable[tuple[str, str]], *, size: int = 420, title: str | None = None
) -> str:
    """The transition table as a graph: states on a circle, one arrow per allowed move.

    Feed it ``rtlab.state.transition_rows()`` so the picture is the table the
    state machine enforces, not a drawing that can drift from it.
    """
    pairs = sorted({(str(a), str(b)) for a, b in rows})
    nodes = _node_order([n for pair in pairs for n in pair])
    r = 42
    top = 24 if title else 0
    cx, cy = size / 2, top + size / 2
    ring = size / 2 - r - 12
    pos: dict[str, tuple[float, float]] = {}
    for i, name in enumerate(nodes):
        angle = -math.pi / 2 + 2 * math.pi * i / max(1, len(nodes))
        pos[name] = (cx + ring * math.cos(angle), cy + ring * math.sin(angle))
    out = _open(size, size + top, "rtlab-statediagram", title)
    out.append(
        '<defs><marker id="rtlab-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>'
    )
    for a, b in pairs:
        (ax, ay), (bx, by) = pos[a], pos[b]
        tip = f"{a} → {b}"
        if a == b:  # a self-loop: a small arc above the node
            d = (
                f"M {_n(ax - 12)} {_n(ay - r + 2)} C {_n(ax - 30)} {_n(ay - r - 40)} "
                f"{_n(ax + 30)} {_n(ay - r - 40)} {_n(ax + 12)} {_n(ay - r + 2)}"
            )
        else:
            dx, dy = bx - ax, by - ay
            # Bend every edge to its right: a->b and b->a then never overlap.
            qx, qy = (ax + bx) / 2 - dy * 0.15, (ay + by) / 2 + dx * 0.15
            sx, sy = _toward(ax, ay, qx, qy, r)
            ex, ey = _toward(bx, by, qx, qy, r + 1)
            d = f"M {_n(sx)} {_n(sy)} Q {_n(qx)} {_n(qy)} {_n(ex)} {_n(ey)}"
        out.append(
            f'<path class="edge" data-from="{esc(a)}" data-to="{esc(b)}" d="{d}" fill="none" '
            f'stroke="#555" stroke-width="1.3" marker-end="url(#rtlab-arrow)">'
            f"<title>{esc(tip)}</title></path>"
        )
    for name in nodes:
        x, y = pos[name]
        color = STATE_COLORS.get(name, "#6c8ebf")
        out.append(
            f'<g class="state" data-state="{esc(name)}"><circle cx="{_n(x)}" cy="{_n(y)}" '
            f'r="{r}" fill="{color}" fill-opacity="0.9" stroke="#fff" stroke-width="2"/>'
            f'<text x="{_n(x)}" y="{_n(y + 4)}" text-anchor="middle" font-size="10.5" '
            f'font-weight="600" fill="#fff">{esc(_short_label(name, 13))}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def _toward(x: float, y: float, tx: float, ty: float, dist: float) -> tuple[float, float]:
    """The point ``dist`` away from (x, y) in the direction of (tx, ty)."""
    dx, dy = tx - x, ty - y
    length = math.hypot(dx, dy) or 1.0
    return x + dx / length * dist, y + dy / length * dist


class AttemptMark(NamedTuple):
    """One reconnect attempt as drawn: when its wait began, planned and actual wait (seconds)."""

    attempt: int
    scheduled: float
    planned: float | None = None
    actual: float | None = None


class OutageMark(NamedTuple):
    """One outage as drawn: from the lost link (or the first failed connect) to its end.

    ``started`` is seconds since the timeline's start; the attempts' ``scheduled`` and
    ``ended`` count from ``started``. ``outcome`` is ``recovered``, ``stopped`` or
    ``ongoing``; ``attempts_total`` also counts attempts the row no longer holds.
    """

    number: int
    started: float
    attempts: tuple[AttemptMark, ...] = ()
    ended: float | None = None
    outcome: str = "ongoing"
    attempts_total: int = 0


_OUTCOME_COLORS = {
    "recovered": STATE_COLORS["connected"],
    "stopped": STATE_COLORS["disconnected"],
    "ongoing": STATE_COLORS["reconnecting"],
}


def outage_end(o: OutageMark) -> float:
    """Seconds from the outage's start to the last thing it holds (its end, or a wait)."""
    ends = [o.ended or 0.0]
    for a in o.attempts:
        ends.append(a.scheduled + max(a.planned or 0.0, a.actual or 0.0))
    return max(ends)


def outage_summary(o: OutageMark) -> str:
    """``3 attempts, back after 0.412s`` / ``…, stopped`` / ``…, still trying``."""
    tries = f"{o.attempts_total} attempt{'s' if o.attempts_total != 1 else ''}"
    if o.outcome == "recovered" and o.ended is not None:
        return f"{tries}, back after {_secs(o.ended)}"
    if o.outcome == "stopped":
        return f"{tries}, stopped"
    return f"{tries}, still trying"


def _attempt_marks(out: list[str], a: AttemptMark, x: Any, y: float, row_height: int) -> None:
    """One attempt: planned wait (dashed), actual wait (filled), a dot where it started."""
    attrs = f'data-attempt="{a.attempt}"'
    if a.planned is not None:
        attrs += f' data-planned="{a.planned:.3f}"'
    if a.actual is not None:
        attrs += f' data-actual="{a.actual:.3f}"'
    tip = f"attempt {a.attempt}: planned {_secs(a.planned) if a.planned is not None else '?'}"
    if a.actual is not None:
        tip += f", waited {_secs(a.actual)}"
    out.append(f'<g class="attempt" {attrs}><title>{esc(tip)}</title>')
    if a.planned is not None:
        out.append(
            f'<rect class="planned" x="{_n(x(a.scheduled))}" y="{_n(y + 3)}" '
            f'width="{_n(max(1.0, x(a.scheduled + a.planned) - x(a.scheduled)))}" '
            f'height="{row_height - 6}" fill="none" stroke="#3b6fb6" stroke-dasharray="3 2"/>'
        )
    if a.actual is not None:
        x0, x1 = x(a.scheduled), x(a.scheduled + a.actual)
        out.append(
            f'<rect class="actual" x="{_n(x0)}" y="{_n(y + 5)}" '
            f'width="{_n(max(1.0, x1 - x0))}" height="{row_height - 10}" fill="#3b6fb6" '
            f'fill-opacity="0.55"/>'
        )
        out.append(
            f'<circle class="start" cx="{_n(x1)}" cy="{_n(y + row_height / 2)}" r="3.5" '
            f'fill="#1d3f73"/>'
        )
    out.append("</g>")


def outages_chart(
    outages: Sequence[OutageMark],
    *,
    hidden: int = 0,
    width: int = 640,
    row_height: int = 18,
    title: str | None = None,
) -> str:
    """Reconnects grouped by outage: one row per outage, time counted from its start.

    Each row holds that outage's attempts in order (planned wait dashed, actual wait
    filled, a dot where the attempt started) and ends in a bar: green where the link
    came back, grey where the client stopped; amber while it still tries. Rows share
    one scale, so waits that grow across attempts, or outages that get longer, compare
    at a glance. ``hidden`` older outages are counted, not drawn: the height depends
    only on the rows shown.
    """
    left, right = 64, 150
    top = 26 if title else 8
    plot_w = max(40, width - left - right)
    note_h = 14 if hidden else 0
    axis_y = top + note_h + max(1, len(outages)) * row_height + 6
    height = axis_y + 30 + (12 if outages else 0)
    out = _open(width, height, "rtlab-outages", title)
    span = max([outage_end(o) for o in outages] + [0.5])

    def x(t: float) -> float:
        return left + plot_w * max(0.0, min(t, span)) / span

    if hidden:
        out.append(
            f'<text class="hidden" x="{left}" y="{_n(top + 10)}" fill="#888">'
            f"{hidden} earlier outage{'s' if hidden != 1 else ''} not shown</text>"
        )
    if not outages:
        out.append(
            f'<text class="empty" x="{_n(left + plot_w / 2)}" y="{_n(top + row_height - 4)}" '
            f'text-anchor="middle" fill="#888">no reconnects yet</text>'
        )
    for i, o in enumerate(outages):
        y = top + note_h + i * row_height
        color = _OUTCOME_COLORS.get(o.outcome, _INK)
        summary = outage_summary(o)
        out.append(
            f'<g class="outage" data-outage="{o.number}" data-outcome="{esc(o.outcome)}" '
            f'data-attempts="{o.attempts_total}" data-started="{o.started:.3f}">'
            f"<title>{esc(f'outage {o.number} at +{o.started:.3f}s: {summary}')}</title>"
            f'<text x="{left - 6}" y="{_n(y + row_height - 5)}" text-anchor="end" '
            f'fill="{_INK}">outage {o.number}</text>'
            f'<line x1="{_n(x(0))}" y1="{_n(y + row_height / 2)}" x2="{_n(x(outage_end(o)))}" '
            f'y2="{_n(y + row_height / 2)}" stroke="{color}" stroke-width="2" '
            f'stroke-opacity="0.6"/>'
        )
        for a in o.attempts:
            _attempt_marks(out, a, x, y, row_height)
        if o.ended is not None:
            out.append(
                f'<rect class="end" x="{_n(x(o.ended) - 1.5)}" y="{_n(y + 2)}" width="3" '
                f'height="{row_height - 4}" fill="{color}"/>'
            )
        out.append(
            f'<text class="summary" x="{_n(left + plot_w + 8)}" y="{_n(y + row_height - 5)}" '
            f'fill="{color}">{esc(summary)}</text></g>'
        )
    _time_axis(left, left + plot_w, axis_y, span, out)
    out.append(
        f'<text class="axis-label" x="{_n(left + plot_w)}" y="{_n(axis_y + 27)}" '
        f'text-anchor="end" fill="#666">seconds since the link was lost</text>'
    )
    if outages:
        out.append(
            f'<text class="legend" x="{_n(left)}" y="{_n(height - 2)}" fill="#666">'
            f"dashed: planned wait · filled: actual wait · dot: attempt starts · "
            f"bar: back (green) or stopped (grey)</text>"
        )
    out.append("</svg>")
    return "".join(out)
