"""Client-side pacing for SP-API usage plans: one token bucket per operation.

Amazon meters every operation with a token bucket (a rate in requests per
second and a burst). :class:`RatePacer` mirrors those buckets locally so a long
extraction runs *at* the quota instead of bouncing off it:

* each request first :meth:`RatePacer.acquire` s a token, sleeping until one is
  available (reservations are taken under a lock and slept outside it, so
  threads sharing a pacer queue up fairly at the bucket's rate);
* a token that only just arrived is used ``guard`` seconds late (50 ms by
  default), so jitter in request latency cannot bring a request to Amazon
  before Amazon's token; the delay does not accumulate (the schedule stays
  ``burst`` then one request per ``1/rate``);
* every response's ``x-amzn-RateLimit-Limit`` header (the live rate of the
  selling partner's plan) corrects the bucket's rate via :meth:`RatePacer.observe`;
* the state of Amazon's bucket at start is unknown (another run may have
  drained it), so the local bucket starts full and a 429 :meth:`RatePacer.drain` s
  it: the retry then waits one refill interval (``1/rate``), and later requests
  follow at the rate.

The header carries only the rate; bursts come from the configured plans.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

RATE_LIMIT_HEADER = "x-amzn-RateLimit-Limit"


@dataclass(frozen=True)
class UsagePlan:
    """An SP-API usage plan: sustained ``rate`` (requests/s) and ``burst`` (bucket size)."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError("rate must be positive")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")


#: The published default plans of the operations this project calls.
DEFAULT_PLANS: dict[str, UsagePlan] = {
    "searchOrders": UsagePlan(rate=0.0056, burst=20),
    "getOrder": UsagePlan(rate=0.5, burst=30),
    "confirmShipment": UsagePlan(rate=2.0, burst=10),
    "getMarketplaceParticipations": UsagePlan(rate=0.016, burst=15),
    # Notifications API v1 (include/ops/order_change_subscription.py): every operation 1/s, burst 5
    **{
        op: UsagePlan(rate=1.0, burst=5)
        for op in (
            "createDestination",
            "getDestinations",
            "createSubscription",
            "getSubscription",
            "deleteSubscriptionById",
        )
    },
}


class TokenBucket:
    """A token bucket that may go negative: each negative token is a reservation being waited out.

    Not thread-safe by itself; :class:`RatePacer` serialises access. ``now`` is
    a monotonic time in seconds.
    """

    def __init__(self, plan: UsagePlan, now: float, tokens: float | None = None) -> None:
        self.rate = plan.rate
        self.burst = plan.burst
        self.tokens = float(plan.burst if tokens is None else tokens)
        self.updated = now

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def reserve(self, now: float, guard: float = 0.0) -> float:
        """Take one token; return how long the caller must wait before using it.

        ``guard`` (seconds) keeps that much refill in hand: a token that has only
        just arrived locally is used ``guard`` seconds later, so latency jitter
        cannot make us reach Amazon's bucket before its token does.
        """
        self.refill(now)
        self.tokens -= 1
        return max(0.0, guard - self.tokens / self.rate) if self.tokens < guard * self.rate else 0.0

    def set_rate(self, rate: float, now: float) -> None:
        """Change the refill rate from ``now`` on (tokens accrued so far are kept)."""
        self.refill(now)
        self.rate = rate

    def drain(self, now: float) -> None:
        """Empty the bucket (keeping outstanding reservations): the next token arrives in ``1/rate``."""
        self.refill(now)
        self.tokens = min(self.tokens, 0.0)


def parse_rate_limit(value: str | None) -> float | None:
    """The rate in an ``x-amzn-RateLimit-Limit`` header, or None when absent or malformed."""
    if not value:
        return None
    try:
        rate = float(value.strip())
    except ValueError:
        return None
    return rate if rate > 0 and rate != float("inf") else None


class RatePacer:
    """Thread-safe token buckets keyed by operation name, seeded with usage plans.

    Operations without a plan are not paced until a response reveals their
    rate, after which they get a bucket with a burst of 1. ``guard`` is the
    latency-jitter allowance in seconds (see the module docstring).
    """

    def __init__(
        self,
        plans: Mapping[str, UsagePlan] | None = None,
        *,
        guard: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if guard < 0:
            raise ValueError("guard must be >= 0")
        self.guard = guard
        self._plans = dict(DEFAULT_PLANS if plans is None else plans)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {}

    def _bucket(self, operation: str, now: float) -> TokenBucket | None:
        bucket = self._buckets.get(operation)
        if bucket is None and operation in self._plans:
            bucket = self._buckets[operation] = TokenBucket(self._plans[operation], now)
        return bucket

    def acquire(self, operation: str) -> float:
        """Block until ``operation`` may be called; return the seconds waited."""
        with self._lock:
            now = self._clock()
            bucket = self._bucket(operation, now)
            wait = bucket.reserve(now, self.guard) if bucket else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait

    def observe(self, operation: str, header_value: str | None) -> None:
        """Correct the bucket's rate from an ``x-amzn-RateLimit-Limit`` header value."""
        rate = parse_rate_limit(header_value)
        if rate is None:
            return
        with self._lock:
            now = self._clock()
            bucket = self._bucket(operation, now)
            if bucket is None:
                self._buckets[operation] = TokenBucket(UsagePlan(rate, 1), now, tokens=0)
            elif abs(bucket.rate - rate) > 1e-12:
                bucket.set_rate(rate, now)

    def drain(self, operation: str) -> None:
        """Record a 429: Amazon's bucket is empty, so empty ours too."""
        with self._lock:
            now = self._clock()
            bucket = self._bucket(operation, now)
            if bucket is not None:
                bucket.drain(now)

    def rate(self, operation: str) -> float | None:
        """The rate currently applied to ``operation`` (None when unpaced)."""
        with self._lock:
            bucket = self._buckets.get(operation)
            if bucket is not None:
                return bucket.rate
            plan = self._plans.get(operation)
            return plan.rate if plan else None

    def tokens(self, operation: str) -> float | None:
        """Tokens available now (negative while reservations are pending); None when unpaced."""
        with self._lock:
            now = self._clock()
            bucket = self._bucket(operation, now)
            if bucket is None:
                return None
            bucket.refill(now)
            return bucket.tokens
