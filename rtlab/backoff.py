"""Reconnect delay policies: pure, seedable, and honest about their numbers.

A policy is a small frozen description (``Exponential(base=1, cap=30,
jitter="full")``); ``policy.delays(rng)`` turns it into an endless iterator of
planned delays in seconds, one per attempt. No clock and no sleeping here:
the client decides when to wait, the policy only says how long. Seeding the
``rng`` makes every sequence reproducible, which is how the notebooks can
print exact numbers and the tests can assert them.

Jitter kinds follow the usual names (as in the AWS architecture blog's
"Exponential Backoff and Jitter"); with ``d = min(cap, base * factor**(n-1))``:

* ``none``: ``d`` (every client retries at the same instant: a thundering herd)
* ``full``: uniform in ``[0, d]``
* ``equal``: ``d/2`` plus uniform in ``[0, d/2]``
* ``decorrelated``: uniform in ``[base, 3 * previous]``, capped (stateful)
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

Jitter = Literal["none", "full", "equal", "decorrelated"]
JITTERS: tuple[Jitter, ...] = ("none", "full", "equal", "decorrelated")


class Policy(Protocol):
    """Anything that can plan reconnect delays."""

    def delays(self, rng: random.Random | int | None = None) -> Iterator[float]: ...


def _rng(rng: random.Random | int | None) -> random.Random:
    return rng if isinstance(rng, random.Random) else random.Random(rng)


@dataclass(frozen=True)
class Constant:
    """The same delay every time (what the chapter's ``reconnectInterval`` suggests)."""

    delay: float = 1.0

    def __post_init__(self) -> None:
        if self.delay < 0:
            raise ValueError(f"delay must be >= 0, got {self.delay}")

    def delays(self, rng: random.Random | int | None = None) -> Iterator[float]:
        return itertools.repeat(float(self.delay))


@dataclass(frozen=True)
class Exponential:
    """``base * factor**(attempt-1)`` capped at ``cap``, with optional jitter.

    ``seed`` fixes the jitter sequence when ``delays()`` is called without an
    ``rng``; pass a different ``rng`` per client to give a crowd different
    draws from one policy.
    """

    base: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    jitter: Jitter = "none"
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.base <= 0:
            raise ValueError(f"base must be > 0, got {self.base}")
        if self.factor < 1:
            raise ValueError(f"factor must be >= 1, got {self.factor}")
        if self.cap < self.base:
            raise ValueError(f"cap ({self.cap}) must be >= base ({self.base})")
        if self.jitter not in JITTERS:
            raise ValueError(f"jitter must be one of {JITTERS}, got {self.jitter!r}")

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay for ``attempt`` (1-based): the upper bound for none/full/equal."""
        if attempt < 1:
            raise ValueError("attempts are numbered from 1")
        # Stop multiplying once over the cap: factor**1000 would overflow a float.
        d = float(self.base)
        for _ in range(attempt - 1):
            d *= self.factor
            if d >= self.cap:
                return float(self.cap)
        return min(d, float(self.cap))

    def delays(self, rng: random.Random | int | None = None) -> Iterator[float]:
        r = _rng(self.seed if rng is None else rng)
        previous = self.base
        for attempt in itertools.count(1):
            d = self.ceiling(attempt)
            if self.jitter == "none":
                yield d
            elif self.jitter == "full":
                yield r.uniform(0.0, d)
            elif self.jitter == "equal":
                yield d / 2 + r.uniform(0.0, d / 2)
            else:  # decorrelated
                previous = min(self.cap, r.uniform(self.base, previous * 3))
                yield previous


def planned(policy: Policy, attempts: int, rng: random.Random | int | None = None) -> list[float]:
    """The first ``attempts`` delays a policy would plan (for tables and plots)."""
    return list(itertools.islice(policy.delays(rng), attempts))


def chapter_delays(attempts: int, interval: float = 5.0) -> list[float]:
    """What the chapter's Dart service actually waits, attempt by attempt.

    Its comment promises "1s, 2s, 4s, 8s... up to max 60s", but it multiplies
    ``reconnectInterval`` (5 s by default) by ``2**(n-1)`` and clamps the
    result to [1 s, 60 s]: 5, 10, 20, 40, 60, 60, ... and no jitter at all.
    """
    return [min(60.0, max(1.0, interval * 2 ** (n - 1))) for n in range(1, attempts + 1)]
