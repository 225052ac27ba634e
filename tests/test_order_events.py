"""The event path on a real Airflow: ORDER_CHANGE notifications through SQS start runs that reach Commerce.

One module-scoped stack (scheduler, DAG processor, triggerer, API server; LocalExecutor; PostgreSQL
metadata DB) on a sandbox with its own local SQS (moto server), whose ORDER_CHANGE delivery duplicates
half the messages and delays some (Amazon's behaviour: unordered, at least once). The subscription is
made by ``python -m include.ops.order_change_subscription --create-queue`` (its idempotency is tested in
test_order_notifications.py).
The scenarios run in sequence on that stack, each building on the last:

1. new orders, duplicated and unordered messages, a malformed and a foreign message, and a polling run
   (``amazon_order_sync`` re-syncing the same ids by hand) racing the event runs: every order reaches
   Commerce exactly once; the dropped messages are listed with their reason; the queue ends empty;
2. a crash: getOrder refused once (a permanent 400 fails the run before staging) while orders change (a
   cancellation, a buyer's cancellation request, a pending order becoming payable): the messages were not
   deleted, reappear after the visibility timeout (5 s here) and a later run carries every change over;
   The queue is down (the SQS server stopped) meanwhile, and an order is placed: it arrives once it is back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from tests import amazon_orders as ao
from tests.conftest import PROJECT_ROOT, free_port, start_airflow_stack, start_sandbox, throwaway_postgres_db

pytestmark = [
    pytest.mark.scheduler,
    pytest.mark.postgres,
    pytest.mark.skipif(not hasattr(os, "killpg"), reason="runs Airflow components as POSIX process groups"),
]

EVENTS = "amazon_order_events"
SYNC = "amazon_order_sync"
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/amazon-order-change"
TIMEOUT_S = 120


@pytest.fixture(scope="module")
def events_stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("events")
    box = start_sandbox(
        f"sqlite:///{folder / 'commerce.db'}", "--notify-duplicates", "0.5", "--notify-delayed", "0.2",
        "--notify-max-delay", "3", sqs_port=free_port(),
    )  # fmt: skip
    try:
        with throwaway_postgres_db("acs_airflow_events") as metadata:
            stack = start_airflow_stack(box, metadata, folder, ACS_ORDER_EVENTS_VISIBILITY_S="5")
            try:
                yield box, stack
            finally:
                stack.stop()
    finally:
        box.stop()


def commerce_orders(box) -> list[tuple[str, str]]:
    engine = create_engine(box.commerce_db)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT ext_order_id, state FROM sales_order ORDER BY ext_order_id"))
            return [(r[0], r[1]) for r in rows]
    finally:
        engine.dispose()


def channel(stack, sql: str) -> list[tuple]:
    engine = create_engine(f"sqlite:///{stack.home.parent / 'channel.db'}")
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def sqs(box):
    import boto3

    return boto3.client(
        "sqs", endpoint_url=box.sqs_url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )


def queue_depth(box) -> int:
    attributes = sqs(box).get_queue_attributes(QueueUrl=QUEUE, AttributeNames=["All"])["Attributes"]
    return sum(int(attributes[k]) for k in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                             "ApproximateNumberOfMessagesDelayed"))  # fmt: skip


def xcoms(stack, task_id: str) -> list[dict]:
    rows = stack.query("SELECT value FROM xcom WHERE dag_id = :d AND task_id = :t AND key = 'return_value'",
                       d=EVENTS, t=task_id)  # fmt: skip
    return [v if isinstance(v := r["value"], dict) else json.loads(v) for r in rows]


def wait(box, stack, what: str, check) -> None:
    """``stack.wait_for`` that also says where things stood: Commerce, the queue, the event runs."""
    try:
        stack.wait_for(what, check, TIMEOUT_S)
    except AssertionError as exc:
        where = f"Commerce {commerce_orders(box)}; queue {queue_depth(box)}; runs {[r['state'] for r in stack.runs(EVENTS)]}"
        raise AssertionError(f"{where}\n{exc}") from None


def test_order_changes_reach_commerce_through_the_queue(events_stack):
    box, stack = events_stack
    started = time.monotonic()
    subscribe = [sys.executable, "-m", "include.ops.order_change_subscription", "--create-queue"]
    first = subprocess.run(subscribe, env=stack.env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert "created: queue, destination, subscription" in first.stdout, first.stdout + first.stderr
    stack.wait_for(
        "the DAG processor to serialise both DAGs",
        lambda: len(stack.query("SELECT dag_id FROM serialized_dag WHERE dag_id IN (:a, :b)", a=EVENTS, b=SYNC)) == 2,
        TIMEOUT_S,
    )
    stack.cli("dags", "unpause", EVENTS)
    print(f"subscribed, DAGs parsed, unpaused: {time.monotonic() - started:.0f}s")

    # 1. New orders (half the messages duplicated, some delayed), junk on the queue, and a polling re-sync racing.
    now = datetime.now(UTC)
    ids = [f"111-0000301-000000{i}" for i in range(1, 5)]
    orders = [ao.order(order_id=i, created=now - timedelta(minutes=3), last_updated=now) for i in ids[:3]]
    # pending: the sandbox withholds buyer, address and prices until Amazon verifies the payment (UNSHIPPED)
    orders.append(ao.order(order_id=ids[3], status="PENDING", created=now, last_updated=now))
    client = sqs(box)
    client.send_message(QueueUrl=QUEUE, MessageBody="{not json")
    client.send_message(QueueUrl=QUEUE, MessageBody=json.dumps({"NotificationType": "ANY_OFFER_CHANGED"}))
    box.spapi("POST", "/_sandbox/orders", json=orders).raise_for_status()
    stack.cli("dags", "trigger", SYNC, "--conf", json.dumps({"amazon_order_ids": ids[:3]}))
    stack.cli("dags", "unpause", SYNC)
    stack.wait_for(
        "the three payable orders in Commerce",
        lambda: {o for o, _ in commerce_orders(box)} == set(ids[:3]) and queue_depth(box) == 0,
        TIMEOUT_S,
    )
    stack.wait_for("the racing polling run", lambda: stack.runs(SYNC, "manual")[0]["state"] == "success", TIMEOUT_S)
    assert [o for o, _ in commerce_orders(box)] == ids[:3]  # exactly once each, whichever path came first
    # the pending order is staged (a channel order) but not imported: Amazon has not verified its payment
    assert channel(stack, f"SELECT import_status FROM channel_order WHERE amazon_order_id = '{ids[3]}'") == [
        ("staged",)
    ]
    dropped = [d["reason"] for x in xcoms(stack, "receive_notifications") for d in x["dropped"]]
    assert sorted(dropped) == [
        "foreign message: a ANY_OFFER_CHANGED notification, not ORDER_CHANGE",
        "malformed message: the message body is not JSON",
    ]
    assert box.spapi("GET", "/_sandbox/notifications").json()["sent"] > 4  # duplicates were delivered
    print(f"step 1 (new orders, junk, polling race): {time.monotonic() - started:.0f}s")
    settled = lambda: all(r["state"] in ("success", "failed") for r in stack.runs(EVENTS))  # noqa: E731
    wait(box, stack, "the event runs of step 1 to finish", settled)
    # Each run's note says what the queue brought, the dropped messages with their reason included.
    notes = "\n".join(r["note"] or "" for r in stack.runs(EVENTS))
    assert "**Order events**" in notes and "- Queue: " in notes, notes
    assert "malformed message: the message body is not JSON" in notes, notes
    assert "foreign message: a ANY_OFFER_CHANGED notification" in notes, notes
    runs_before_crash = len(stack.runs(EVENTS))

    # 2. The queue down while orders change and one is placed, then back; the first run after it crashes before
    # staging (getOrder refused once): the messages come back and a later run carries every change over.
    box.spapi("PUT", "/_sandbox/sqs", json={"up": False}).raise_for_status()
    box.spapi("PUT", "/_sandbox/faults", json={"rules": [
        {"kind": "400", "count": 1, "method": "GET", "path": "^/orders/2026-01-01/orders/"}
    ]}).raise_for_status()  # fmt: skip
    box.spapi("POST", f"/_sandbox/orders/{ids[0]}/status", json={"status": "CANCELLED"}).raise_for_status()
    box.spapi("POST", f"/_sandbox/orders/{ids[1]}/cancellation-request", json={}).raise_for_status()
    box.spapi("POST", f"/_sandbox/orders/{ids[3]}/status", json={"status": "UNSHIPPED"}).raise_for_status()
    late = ao.order(order_id="111-0000301-0000009", created=datetime.now(UTC), last_updated=datetime.now(UTC))
    box.spapi("POST", "/_sandbox/orders", json=[late]).raise_for_status()
    time.sleep(3)
    assert box.spapi("PUT", "/_sandbox/sqs", json={"up": True}).json()["up"] is True
    wait(
        box,
        stack,
        "the changes in Commerce after the outage and the crashed run",
        lambda: (
            dict(commerce_orders(box)).get(ids[0]) == "closed"  # invoiced, so refunded offline
            and dict(commerce_orders(box)).get(ids[1]) == "holded"  # the buyer asked to cancel: on hold
            and ids[3] in dict(commerce_orders(box))
            and late["orderId"] in dict(commerce_orders(box))
            and queue_depth(box) == 0
            and settled()
        ),
    )
    runs = stack.runs(EVENTS)[runs_before_crash:]
    assert "failed" in [r["state"] for r in runs] and runs[-1]["state"] == "success", runs
    crashed = next(r["run_id"] for r in runs if r["state"] == "failed")
    tasks = {r["task_id"]: r["state"] for r in stack.query(
        "SELECT task_id, state FROM task_instance WHERE dag_id = :d AND run_id = :r", d=EVENTS, r=crashed
    )}  # fmt: skip
    assert tasks["extract_orders"] == "failed" and tasks["delete_messages"] == "upstream_failed", tasks
    assert [o for o, _ in commerce_orders(box)] == [*ids, late["orderId"]]  # still exactly once each
    stack.check_alive()
    print(f"step 2 (outage, crash, changes): {time.monotonic() - started:.0f}s")
    print(f"event path scenarios: {time.monotonic() - started:.0f}s after the stack started")
