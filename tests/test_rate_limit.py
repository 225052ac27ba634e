"""Token-bucket pacing, backoff and header parsing (pure unit tests, simulated clock)."""

from __future__ import annotations

import threading
import time

import pytest

from include.clients.amazon.rate_limit import (
    DEFAULT_PLANS,
    RatePacer,
    TokenBucket,
    UsagePlan,
    parse_rate_limit,
)


class FakeClock:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def pacer_with(clock: FakeClock, **plans: UsagePlan) -> RatePacer:
    return RatePacer(plans or None, guard=0.0, clock=clock, sleep=clock.sleep)


def test_default_plans_match_the_published_usage_plans():
    assert DEFAULT_PLANS["searchOrders"] == UsagePlan(0.0056, 20)
    assert DEFAULT_PLANS["getOrder"] == UsagePlan(0.5, 30)
    assert DEFAULT_PLANS["confirmShipment"] == UsagePlan(2.0, 10)


@pytest.mark.parametrize("rate, burst", [(0, 1), (-1, 1), (1, 0)])
def test_usage_plan_rejects_nonsense(rate, burst):
    with pytest.raises(ValueError):
        UsagePlan(rate, burst)


def test_bucket_refills_at_rate_and_caps_at_burst():
    bucket = TokenBucket(UsagePlan(rate=2.0, burst=3), now=0.0)
    assert [bucket.reserve(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve(0.0) == pytest.approx(0.5)  # the 4th token arrives after 1/rate
    assert bucket.reserve(0.0) == pytest.approx(1.0)  # reservations queue up
    bucket.refill(100.0)
    assert bucket.tokens == 3.0


def test_burst_is_free_then_requests_follow_at_the_rate():
    clock = FakeClock()
    pacer = pacer_with(clock, getOrder=UsagePlan(rate=0.5, burst=30))
    start = clock.now
    waits = [pacer.acquire("getOrder") for _ in range(40)]
    assert waits[:30] == [0.0] * 30
    assert waits[30:] == pytest.approx([2.0] * 10)
    # the token-bucket bound for N requests: (N - burst) / rate
    assert clock.now - start == pytest.approx((40 - 30) / 0.5)


def test_time_between_requests_refills_the_bucket():
    clock = FakeClock()
    pacer = pacer_with(clock, op=UsagePlan(rate=1.0, burst=2))
    pacer.acquire("op")
    pacer.acquire("op")
    clock.now += 1.5  # 1.5 tokens back
    assert pacer.acquire("op") == 0.0
    assert pacer.acquire("op") == pytest.approx(0.5)


def test_header_corrects_the_rate():
    clock = FakeClock()
    pacer = pacer_with(clock, searchOrders=UsagePlan(rate=0.0056, burst=1))
    pacer.acquire("searchOrders")
    pacer.observe("searchOrders", "2.0")
    assert pacer.rate("searchOrders") == 2.0
    assert pacer.acquire("searchOrders") == pytest.approx(0.5)


def test_header_rate_change_keeps_tokens_accrued_at_the_old_rate():
    clock = FakeClock()
    pacer = pacer_with(clock, op=UsagePlan(rate=1.0, burst=5))
    for _ in range(5):
        pacer.acquire("op")
    clock.now += 2.0  # 2 tokens accrued at 1/s
    pacer.observe("op", "10")
    assert pacer.tokens("op") == pytest.approx(2.0)
    clock.now += 0.1  # +1 token at the new rate
    assert pacer.tokens("op") == pytest.approx(3.0)


@pytest.mark.parametrize("value", [None, "", "abc", "0", "-1", "inf"])
def test_malformed_headers_are_ignored(value):
    clock = FakeClock()
    pacer = pacer_with(clock, op=UsagePlan(rate=1.0, burst=1))
    pacer.observe("op", value)
    assert pacer.rate("op") == 1.0


def test_parse_rate_limit():
    assert parse_rate_limit(" 0.0056 ") == 0.0056
    assert parse_rate_limit("2.0") == 2.0
    assert parse_rate_limit("nope") is None


def test_unplanned_operation_is_unpaced_until_a_header_reveals_its_rate():
    clock = FakeClock()
    pacer = pacer_with(clock, op=UsagePlan(rate=1.0, burst=1))
    assert pacer.rate("other") is None
    assert [pacer.acquire("other") for _ in range(5)] == [0.0] * 5
    pacer.observe("other", "4")
    assert pacer.rate("other") == 4.0
    assert pacer.acquire("other") == pytest.approx(0.25)


def test_drain_after_429_waits_one_interval():
    clock = FakeClock()
    pacer = pacer_with(clock, op=UsagePlan(rate=0.5, burst=10))
    assert pacer.acquire("op") == 0.0  # locally 9 tokens left, but Amazon's bucket was empty
    pacer.drain("op")
    assert pacer.tokens("op") == 0.0
    assert pacer.acquire("op") == pytest.approx(2.0)  # 1/rate
    assert pacer.acquire("op") == pytest.approx(2.0)  # and then at the rate


def test_drain_keeps_pending_reservations():
    clock = FakeClock()
    pacer = RatePacer(
        {"op": UsagePlan(rate=1.0, burst=1)}, guard=0.0, clock=clock, sleep=lambda s: None
    )  # threads "sleeping"
    pacer.acquire("op")
    pacer.acquire("op")  # reserved: waits 1 s
    pacer.drain("op")
    assert pacer.tokens("op") == pytest.approx(-1.0)
    assert pacer.acquire("op") == pytest.approx(2.0)


def test_guard_delays_just_arrived_tokens_without_accumulating():
    clock = FakeClock()
    pacer = RatePacer({"op": UsagePlan(rate=2.0, burst=2)}, guard=0.05, clock=clock, sleep=clock.sleep)
    start = clock.now
    waits = [pacer.acquire("op") for _ in range(12)]
    assert waits[0] == 0.0  # the burst is free...
    assert waits[1] == pytest.approx(0.05)  # ...up to its last token, used once the guard has passed
    assert waits[2:] == pytest.approx([0.5] * 10)  # then exactly the rate: the guard is an offset, not a cost
    assert clock.now - start == pytest.approx((12 - 2) / 2.0 + 0.05)
    clock.now += 10  # a full bucket again: no guard
    assert pacer.acquire("op") == 0.0
    with pytest.raises(ValueError):
        RatePacer(guard=-1)


def test_operations_have_independent_buckets():
    clock = FakeClock()
    pacer = pacer_with(clock, a=UsagePlan(rate=1.0, burst=1), b=UsagePlan(rate=1.0, burst=1))
    pacer.acquire("a")
    assert pacer.acquire("b") == 0.0
    assert pacer.acquire("a") == pytest.approx(1.0)


def test_pacer_is_thread_safe_and_never_exceeds_the_bucket():
    """8 threads share one bucket: the grant times must respect burst + rate * elapsed at every instant."""
    rate, burst, per_thread, threads = 400.0, 5, 10, 8
    pacer = RatePacer({"op": UsagePlan(rate=rate, burst=burst)})
    grants: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(per_thread):
            pacer.acquire("op")
            with lock:
                grants.append(time.monotonic())

    started = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    total = per_thread * threads
    assert len(grants) == total
    assert time.monotonic() - started >= (total - burst) / rate * 0.98
    grants.sort()
    for i, t in enumerate(grants):
        # grant i+1 happens no earlier than the bucket allows (small tolerance for clock reads)
        assert i + 1 <= burst + (t - started) * rate + 1.0
