"""The quarantine's retry policy (pure) and buyer cancellation requests (which orders go on hold)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from include.domain.cancel_requests import (
    HOLD_PREFIX,
    RELEASE_PREFIX,
    cancellation_requested,
    held_by_sync,
    hold_comment,
    release_comment,
)
from include.domain.retry_policy import WAITS_FOR_OPERATOR, RetryPolicy
from include.domain.staging import sync_fingerprint
from tests import amazon_orders as ao

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_delays_double_from_the_base_up_to_the_cap_then_the_order_waits_for_an_operator():
    policy = RetryPolicy(max_attempts=5, base_minutes=15, max_delay_minutes=45)
    assert [policy.delay(n) for n in range(1, 6)] == [timedelta(minutes=m) for m in (15, 30, 45, 45, 45)]
    assert [policy.next_attempt_at(n, T0) for n in range(1, 5)] == [T0 + timedelta(minutes=m) for m in (15, 30, 45, 45)]
    assert policy.next_attempt_at(5, T0) is None and policy.gives_up(5) and not policy.gives_up(4)
    assert policy.next_try(5, None, T0) == WAITS_FOR_OPERATOR
    assert policy.next_try(2, T0 + timedelta(minutes=30), T0) == "2026-03-01T10:30:00Z"
    assert policy.next_try(2, T0 - timedelta(minutes=1), T0) == "next run"
    assert policy.next_try(1, None, T0) == "next run"  # failed before the policy existed: not delayed


def test_a_zero_base_retries_on_every_run():
    policy = RetryPolicy(max_attempts=3, base_minutes=0, max_delay_minutes=0)
    assert policy.next_attempt_at(1, T0) == T0 and policy.next_attempt_at(3, T0) is None


def with_request(order: dict, *, executed: bool = False, reason: str = "Changed mind about purchase") -> dict:
    for item in order["orderItems"]:
        cancellation = {"cancellationRequest": {"requester": "BUYER", "cancelReason": reason}}
        if executed:
            cancellation["cancellationExecution"] = {"cancelledBy": "MERCHANT", "cancelReason": reason}
        item["cancellation"] = cancellation
    return order


def test_an_open_request_on_an_unshipped_merchant_order_asks_for_a_hold():
    assert cancellation_requested(with_request(ao.order()))
    assert cancellation_requested(with_request(ao.order(ao.line(qty=2, shipped=1), status="PARTIALLY_SHIPPED")))
    assert not cancellation_requested(ao.order())  # no request
    assert not cancellation_requested(with_request(ao.order(), executed=True))  # carried out: a cancellation
    assert not cancellation_requested(with_request(ao.order(status="SHIPPED")))  # shipped: nothing to stop
    assert not cancellation_requested(with_request(ao.order(ao.line(qty=1, shipped=1), status="PARTIALLY_SHIPPED")))
    assert not cancellation_requested(with_request(ao.order(status="SHIPPED", fulfilled_by="AMAZON")))
    broken = ao.order()
    broken["orderItems"][0]["cancellation"] = "requested"  # not the model's shape: ignored, never raises
    assert not cancellation_requested(broken)


def test_the_request_changes_the_sync_fingerprint_only_while_it_is_open():
    plain = ao.order(order_id="111-0000001-0000001")
    requested = with_request(ao.order(order_id="111-0000001-0000001"))
    assert sync_fingerprint(requested) != sync_fingerprint(plain)
    # no open request: the digest of the releases before requests were followed (no update of every imported order)
    basis = json.dumps([False, "Ana Smith", "ana.smith.test@marketplace.amazon.com"])
    assert sync_fingerprint(plain) == hashlib.sha256(basis.encode()).hexdigest()


def test_comments_name_the_order_and_reason_but_no_buyer_data_and_tell_our_holds_from_manual_ones():
    order = with_request(ao.order(order_id="111-0000002-0000001", buyer_name="Ana Smith"))
    comment = hold_comment(order)
    assert comment.startswith(HOLD_PREFIX) and "111-0000002-0000001" in comment and "Changed mind" in comment
    assert "Ana" not in comment and "@" not in comment and "Main St" not in comment
    assert release_comment(order).startswith(RELEASE_PREFIX)
    ours = {"comment": comment, "created_at": "2026-03-01 10:00:00", "entity_id": 5}
    release = {"comment": release_comment(order), "created_at": "2026-03-01 11:00:00", "entity_id": 6}
    other = {"comment": "Held by hand: address check", "created_at": "2026-03-01 12:00:00", "entity_id": 7}
    assert held_by_sync([ours, other])
    assert not held_by_sync([ours, release, other])  # released since: a later hold was placed by hand
    assert not held_by_sync([other])


def test_the_published_examples_with_a_carried_out_request_are_no_hold(specs_dir):
    """Amazon's example orders whose items carry a request *and* its execution are cancellations, not holds."""
    spec = json.loads((specs_dir / "sp-api" / "orders_2026-01-01.json").read_text())
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "orderId" in node and "orderItems" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec["paths"])
    with_cancellation = [o for o in found if any("cancellation" in i for i in o["orderItems"])]
    assert with_cancellation
    for order in with_cancellation:
        cancellations = [i["cancellation"] for i in order["orderItems"] if "cancellation" in i]
        open_request = any("cancellationExecution" not in c for c in cancellations)
        expected = open_request and order["fulfillment"]["fulfillmentStatus"] in ("UNSHIPPED", "PARTIALLY_SHIPPED")
        assert cancellation_requested(order) is expected
