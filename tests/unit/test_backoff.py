"""Backoff policies: exact sequences with a seed, and the bounds of every jitter kind."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtlab.backoff import JITTERS, Constant, Exponential, chapter_delays, planned


def test_exponential_without_jitter_doubles_then_caps() -> None:
    assert planned(Exponential(base=1, cap=30), 7) == [1, 2, 4, 8, 16, 30, 30]


def test_factor_and_base_are_honoured() -> None:
    assert planned(Exponential(base=0.5, factor=3, cap=100), 4) == [0.5, 1.5, 4.5, 13.5]


def test_constant_repeats() -> None:
    assert planned(Constant(2.5), 3) == [2.5, 2.5, 2.5]


def test_chapter_arithmetic_does_not_match_its_comment() -> None:
    # The comment promises 1, 2, 4, 8; a 5 s reconnectInterval gives this.
    assert chapter_delays(6) == [5, 10, 20, 40, 60, 60]
    assert chapter_delays(4, interval=1) == [1, 2, 4, 8]


def test_seeded_full_jitter_is_reproducible_and_seed_sensitive() -> None:
    policy = Exponential(base=1, cap=30, jitter="full")
    a = planned(policy, 10, rng=42)
    assert a == planned(policy, 10, rng=random.Random(42))
    assert a != planned(policy, 10, rng=43)
    expected_rng = random.Random(42)
    assert a == [expected_rng.uniform(0, min(30, 2**n)) for n in range(10)]


def test_policy_seed_is_used_when_no_rng_given() -> None:
    policy = Exponential(jitter="equal", seed=7)
    assert planned(policy, 5) == planned(policy, 5)


@given(
    jitter=st.sampled_from(JITTERS),
    base=st.floats(0.01, 5),
    cap_factor=st.floats(1, 100),
    seed=st.integers(0, 2**32),
)
def test_every_jitter_stays_within_its_bounds(
    jitter: str, base: float, cap_factor: float, seed: int
) -> None:
    policy = Exponential(base=base, cap=base * cap_factor, jitter=jitter)  # type: ignore[arg-type]
    for n, d in enumerate(planned(policy, 40, rng=seed), start=1):
        ceiling = policy.ceiling(n)
        assert 0 <= d <= policy.cap + 1e-9
        if jitter == "full":
            assert d <= ceiling + 1e-9
        elif jitter == "equal":
            assert ceiling / 2 - 1e-9 <= d <= ceiling + 1e-9
        elif jitter == "decorrelated":
            assert base - 1e-9 <= d
        else:
            assert d == ceiling


def test_jitter_spreads_a_crowd() -> None:
    policy = Exponential(base=1, cap=30, jitter="full")
    firsts = {planned(policy, 1, rng=i)[0] for i in range(100)}
    assert len(firsts) == 100
    assert len({planned(Exponential(base=1, cap=30), 1, rng=i)[0] for i in range(100)}) == 1


def test_huge_attempt_numbers_do_not_overflow() -> None:
    assert Exponential(base=1, cap=60).ceiling(5000) == 60


@pytest.mark.parametrize(
    "kwargs",
    [{"base": 0}, {"factor": 0.5}, {"base": 10, "cap": 1}, {"jitter": "lots"}],
)
def test_bad_parameters_are_refused_with_a_reason(kwargs: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Exponential(**kwargs)


def test_attempts_are_numbered_from_one() -> None:
    with pytest.raises(ValueError):
        Exponential().ceiling(0)
