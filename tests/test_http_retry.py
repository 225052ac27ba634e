"""Backoff and Retry-After shared by the SP-API and Commerce clients (include/clients/http_retry.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from include.clients.http_retry import backoff_delay, retry_after_seconds


def test_backoff_counts_retries_from_one_doubles_and_caps_with_equal_jitter():
    rng = random.Random(1)
    for retry, nominal in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0)]:
        delays = [backoff_delay(retry, base=0.5, cap=30, rng=rng) for _ in range(200)]
        assert all(nominal / 2 <= d <= nominal for d in delays)
        assert max(delays) - min(delays) > nominal / 4  # jittered, not constant
    assert all(15 <= backoff_delay(20, base=0.5, cap=30, rng=rng) <= 30 for _ in range(50))
    assert backoff_delay(1, base=0, cap=30) == 0 and backoff_delay(0, base=1, cap=30) == 0


def test_retry_after_in_seconds_or_as_an_http_date_capped():
    assert retry_after_seconds("2", cap=30) == 2.0
    assert retry_after_seconds("0.5", cap=30) == 0.5
    assert retry_after_seconds("999", cap=30) == 30.0
    assert retry_after_seconds(None, cap=30) is None and retry_after_seconds("soon", cap=30) is None
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 <= retry_after_seconds(format_datetime(later, usegmt=True), cap=300) <= 31
    assert retry_after_seconds(format_datetime(later, usegmt=True), cap=10) == 10
    assert retry_after_seconds(format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True), cap=30) == 0.0


def test_exponential_delay_is_the_nominal_backoff_both_use():
    """One growth formula: base × 2^(retry−1) up to the cap; the jittered backoff stays within its half-to-full."""
    from include.clients.http_retry import exponential_delay

    assert [exponential_delay(n, base=15, cap=720) for n in range(0, 9)] == [0, 15, 30, 60, 120, 240, 480, 720, 720]
    assert exponential_delay(10_000, base=1, cap=60) == 60  # no overflow for absurd retry counts
    assert exponential_delay(3, base=0, cap=60) == 0
    rng = random.Random(3)
    for n in range(1, 8):
        assert exponential_delay(n, base=2, cap=30) / 2 <= backoff_delay(n, base=2, cap=30, rng=rng) <= 30
