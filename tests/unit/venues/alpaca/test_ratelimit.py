from __future__ import annotations

import pytest

from tradewire.venues.alpaca.ratelimit import TokenBucket


def test_bucket_allows_burst_then_waits_for_refill():
    bucket = TokenBucket(per_minute=60, now_s=0.0, burst=2)
    assert bucket.delay(0.0) == 0
    assert bucket.delay(0.0) == 0
    assert bucket.delay(0.0) == pytest.approx(1.0)
    assert bucket.delay(1.0) == 0


def test_bucket_follows_venue_headers_when_exhausted():
    bucket = TokenBucket(per_minute=200, now_s=0.0)
    bucket.observe(
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1010"}, now_s=0.0, wall_s=1000.0
    )
    assert bucket.delay(0.0) == pytest.approx(10.0)
    assert bucket.delay(10.5) == 0


def test_bucket_penalize_blocks_for_retry_after():
    bucket = TokenBucket(per_minute=200, now_s=0.0)
    bucket.penalize(3.0, now_s=5.0)
    assert bucket.delay(6.0) == pytest.approx(2.0)


def test_bucket_rejects_nonsense_rate():
    with pytest.raises(ValueError, match="per_minute"):
        TokenBucket(per_minute=0, now_s=0)


def test_take_now_answers_as_delay_zero_does_and_takes_the_same_tokens() -> None:
    a = TokenBucket(per_minute=120, now_s=0.0, burst=3)
    b = TokenBucket(per_minute=120, now_s=0.0, burst=3)
    b.blocked_until = a.blocked_until = 2.0
    for step in range(40):
        now = step * 0.13
        assert a.take_now(now) == (b.delay(now) == 0.0), now
        assert a.tokens == b.tokens
