"""SP-API usage plans: one token bucket per operation per refresh token (seller + application).

Modes: ``off`` (no throttling, no ``x-amzn-RateLimit-Limit`` header), ``default`` (the
published rate and burst) and ``scaled`` (rate multiplied by ``factor``, burst as
published, so quota-bound benchmarks finish in seconds while keeping the same shape).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

#: operation -> (requests per second, burst), from the specs' usage-plan tables.
USAGE_PLANS: dict[str, tuple[float, int]] = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "getMarketplaceParticipations": (0.016, 15),
    # Notifications API v1: every operation 1 request/s, burst 5
    **{
        op: (1.0, 5)
        for op in (
            "createDestination",
            "getDestinations",
            "getDestination",
            "deleteDestination",
            "createSubscription",
            "getSubscription",
            "deleteSubscriptionById",
        )
    },
}
MODES = ("off", "default", "scaled")


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rate: float | None  # the live rate for the header; None when limits are off


class RateLimiter:
    """Thread-safe token buckets keyed by (refresh token, operation)."""

    def __init__(self, mode: str = "default", factor: float = 1.0) -> None:
        self._startup = self._check(mode, factor)
        self.mode, self.factor = self._startup
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _check(mode: str, factor: float) -> tuple[str, float]:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        factor = float(factor)
        if not factor > 0:
            raise ValueError("factor must be positive")
        return mode, factor

    def configure(self, mode: str, factor: float = 1.0) -> None:
        """Switch mode (and factor); every bucket starts full again."""
        mode, factor = self._check(mode, factor)
        with self._lock:
            self.mode, self.factor = mode, factor
            self._buckets.clear()

    def reset(self) -> None:
        """Back to the mode the sandbox started with, buckets refilled."""
        self.configure(*self._startup)

    def plan(self, operation: str) -> tuple[float, int]:
        """The (rate, burst) in force for ``operation``."""
        rate, burst = USAGE_PLANS[operation]
        return (rate * self.factor, burst) if self.mode == "scaled" else (rate, burst)

    def acquire(self, key: str, operation: str) -> Decision:
        """Take one token for ``operation`` from ``key``'s bucket, if there is one."""
        if self.mode == "off":
            return Decision(True, None)
        with self._lock:
            rate, burst = self.plan(operation)
            now = time.monotonic()
            bucket = self._buckets.get((key, operation))
            if bucket is None:
                bucket = self._buckets[(key, operation)] = _Bucket(float(burst), now)
            bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return Decision(True, rate)
            return Decision(False, rate)

    def to_json(self) -> dict:
        return {
            "mode": self.mode,
            "factor": self.factor,
            "plans": {op: {"rate": self.plan(op)[0], "burst": self.plan(op)[1]} for op in USAGE_PLANS},
        }


def format_rate(rate: float) -> str:
    """Header form of a rate, e.g. ``0.0056`` or ``2.0``."""
    text = f"{rate:.6f}".rstrip("0")
    return text + "0" if text.endswith(".") else text
