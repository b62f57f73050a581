"""The demo feeds' content, shared by every protocol that streams it: ticker prices (``/ws/ticker``
and ``/sse/ticker``) and news items (``/sse/news``).

Pure and deterministic: item ``n`` is the same in every run, every process and every notebook,
so a lesson can print exact values and a test can check them.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

_TOPICS = ("markets", "science", "weather", "sports", "culture", "technology", "health",
           "travel", "politics", "space", "climate", "education")
_VERBS = ("surges", "stalls", "surprises", "rebounds", "slows", "shifts")


def iso(ts: float) -> str:
    """Epoch seconds as ISO 8601 UTC with milliseconds and a ``Z``."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def price(seq: int) -> float:
    """Deterministic price for tick ``seq``: same numbers in every run and every notebook."""
    return round(100.0 + 5.0 * math.sin(seq / 10.0) + 0.25 * math.cos(seq / 3.0), 2)


def tick_item(n: int, ts: float) -> dict[str, Any]:
    return {"seq": n, "price": price(n), "timestamp": iso(ts)}


def news_item(n: int, ts: float) -> dict[str, Any]:
    """News item ``n``: deterministic text, so every run and notebook shows the same feed."""
    topic, verb = _TOPICS[n % len(_TOPICS)], _VERBS[(n // len(_TOPICS)) % len(_VERBS)]
    return {
        "id": n,
        "title": f"{topic.capitalize()} {verb} (story {n})",
        "summary": f"Item {n} of the demo feed: {topic} news, published at a steady rate.",
        "timestamp": iso(ts),
    }
