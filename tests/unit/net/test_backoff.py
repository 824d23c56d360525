from __future__ import annotations

import itertools
import random

import pytest

from tradewire.net.backoff import backoff


def test_backoff_without_jitter_doubles_up_to_the_cap():
    delays = list(itertools.islice(backoff(initial_s=0.1, factor=2, max_s=1.0, jitter=0), 6))
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_backoff_with_full_jitter_stays_within_bounds_and_is_seeded():
    a = list(itertools.islice(backoff(initial_s=1, max_s=8, rng=random.Random(3)), 20))
    b = list(itertools.islice(backoff(initial_s=1, max_s=8, rng=random.Random(3)), 20))
    assert a == b
    caps = [1, 2, 4, 8] + [8] * 16
    assert all(0 <= d <= cap for d, cap in zip(a, caps, strict=True))
    assert len(set(a)) > 10  # actually jittered


@pytest.mark.parametrize(
    "kwargs", [{"initial_s": 0}, {"factor": 0.5}, {"max_s": 0.01}, {"jitter": 2}]
)
def test_backoff_with_invalid_parameters_raises(kwargs):
    with pytest.raises(ValueError, match="backoff needs"):
        next(backoff(**kwargs))
