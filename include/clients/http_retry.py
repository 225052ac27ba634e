"""Backoff and ``Retry-After`` for both API clients (SP-API and Commerce): one convention for both.

``retry`` counts retries from 1: the delay before the first retry is ``backoff_delay(1, …)``.
:func:`exponential_delay` is the one growth formula; the quarantine's retry policy
(:mod:`include.domain.retry_policy`) uses it too, without jitter.
"""

from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime


def exponential_delay(retry: int, *, base: float, cap: float) -> float:
    """The nominal delay before retry number ``retry`` (1-based): ``min(cap, base * 2**(retry-1))``; 0 before none."""
    if retry < 1 or base <= 0:
        return 0.0
    return min(cap, base * 2 ** min(retry - 1, 64))


def backoff_delay(retry: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``retry`` (1-based): :func:`exponential_delay`, jittered.

    "Equal jitter": a uniformly random value in ``[d/2, d]``, so concurrent clients
    spread out while each still waits at least half the nominal delay.
    """
    nominal = exponential_delay(retry, base=base, cap=cap)
    if not nominal:
        return 0.0
    return (rng or random).uniform(nominal / 2, nominal)


def retry_after_seconds(value: str | None, *, cap: float, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), at most ``cap``; None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment is None or moment.tzinfo is None:
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    return max(0.0, min(cap, seconds))
