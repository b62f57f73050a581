"""The knob checks every client runs at construction: a clear ValueError naming the knob."""

import math

import pytest

from rtlab.knobs import count, non_negative, positive, positive_or_none


@pytest.mark.parametrize("value", [0, -1, -0.5, math.nan, True, "5", None])
def test_positive_refuses_what_is_not_a_positive_number(value) -> None:
    with pytest.raises(ValueError, match="heartbeat_interval"):
        positive("heartbeat_interval", value)


def test_positive_passes_numbers_through_as_floats() -> None:
    assert positive("t", 2) == 2.0 and isinstance(positive("t", 2), float)
    assert positive("t", math.inf) == math.inf  # "never" is a choice, not a mistake
    assert positive_or_none("t", None) is None and positive_or_none("t", 0.5) == 0.5
    with pytest.raises(ValueError, match="must be > 0"):
        positive_or_none("t", 0)


@pytest.mark.parametrize("value", [-1e-9, math.nan, False])
def test_non_negative_refuses_negatives_and_nan(value) -> None:
    with pytest.raises(ValueError, match="grace"):
        non_negative("grace", value)
    assert non_negative("grace", 0) == 0.0


def test_count_wants_an_integer_at_least_its_minimum() -> None:
    assert count("retries", 0) == 0 and count("size", 3, minimum=1) == 3
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="retries"):
            count("retries", bad)
    with pytest.raises(ValueError, match=">= 1"):
        count("size", 0, minimum=1)
