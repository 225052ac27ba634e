"""The quarantine's retry policy: when an order whose import failed is tried again, and when it stops.

An order kept out after ``attempts`` failed imports is tried again after
``retry_base_minutes × 2^(attempts−1)``, at most ``retry_max_delay_minutes``
(:func:`include.clients.http_retry.exponential_delay`, the clients' backoff without
jitter: an operator reads the exact time). After ``retry_max_attempts`` failed
attempts it is no longer tried by itself: it waits for an operator, whose re-sync
by order id (the ``amazon_order_ids`` param) always tries it. With base 15 min,
cap 12 h: tries at 0, +15 min, +30 min, +1 h, +2 h, +4 h, +8 h, +12 h, then waits.
Orders the settings skip (``skipped``) cost no Commerce call and are not delayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from include.clients.http_retry import exponential_delay

#: How the quarantine views word an order that is no longer retried by itself.
WAITS_FOR_OPERATOR = "waits for operator"


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` failed attempts at most; delays from ``base_minutes`` doubling up to ``max_delay_minutes``."""

    max_attempts: int = 8
    base_minutes: int = 15
    max_delay_minutes: int = 720

    def delay(self, attempts: int) -> timedelta:
        """How long after its ``attempts``-th failed attempt an order waits (0: the next run)."""
        minutes = exponential_delay(attempts, base=self.base_minutes, cap=self.max_delay_minutes)
        return timedelta(minutes=minutes)

    def gives_up(self, attempts: int) -> bool:
        """True once ``attempts`` failed attempts leave the order to an operator."""
        return attempts >= self.max_attempts

    def next_attempt_at(self, attempts: int, failed_at: datetime) -> datetime | None:
        """When an order that failed for the ``attempts``-th time at ``failed_at`` is tried next; None: never by itself."""
        if self.gives_up(attempts):
            return None
        return failed_at + self.delay(attempts)

    def next_try(self, attempts: int, next_attempt_at: datetime | None, now: datetime) -> str:
        """The next try in words: ``"next run"``, an ISO time, or :data:`WAITS_FOR_OPERATOR`."""
        if self.gives_up(attempts):
            return WAITS_FOR_OPERATOR
        if next_attempt_at is None or next_attempt_at <= now:
            return "next run"
        return next_attempt_at.strftime("%Y-%m-%dT%H:%M:%SZ")
