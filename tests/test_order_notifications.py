"""ORDER_CHANGE notifications: our check against Amazon's published schema, coalescing, and the sandbox's side.

* ``parse_notification`` accepts what ``OrderChangeNotification.json`` (../shared/specs) accepts for the fields
  we read, and every notification it accepts is valid against that schema (hypothesis mutates Amazon's example);
* ``coalesce`` keeps one change per order, the latest;
* the SP-API sandbox's Notifications API over HTTP, answered bodies checked against ``notifications_v1.json``,
  driven by our client (grantless token for destinations, the seller's for subscriptions); the subscription
  command is idempotent; each order change sends a schema-valid ORDER_CHANGE to the local SQS (moto server).
"""

from __future__ import annotations

import copy
import json
import os
import time
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from include.domain.order_notifications import InvalidNotification, OrderChange, coalesce, parse_notification, queue_arn
from tests import amazon_orders as ao
from tests.conftest import SPECS_DIR, free_port, start_sandbox

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/amazon-order-change"


def order_change_schema() -> dict:
    path = SPECS_DIR / "sp-api" / "OrderChangeNotification.json"
    if not path.is_file():
        pytest.skip(f"published specs not found at {path}")
    return json.loads(path.read_text())


def example() -> dict:
    return copy.deepcopy(order_change_schema()["examples"][0])


def schema_accepts(instance) -> bool:
    return jsonschema.Draft7Validator(order_change_schema()).is_valid(instance)


def test_amazons_example_is_an_order_change():
    change = parse_notification(json.dumps(example()))
    assert change.amazon_order_id == "903-8868176-2219830"
    assert change.change_type == "BuyerRequestedChange"
    assert change.changed_at == datetime(2022, 11, 29, 19, 42, 4, 284000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda n: n.pop("Payload"), "the notification lacks Payload"),
        (lambda n: n["Payload"]["OrderChangeNotification"].pop("AmazonOrderId"), "lacks AmazonOrderId"),
        (lambda n: n["Payload"]["OrderChangeNotification"].update(AmazonOrderId="12345"), "not an Amazon order id"),
        (lambda n: n["Payload"]["OrderChangeNotification"].update(OrderChangeType="Teleported"), "OrderChangeType"),
        (lambda n: n["Payload"]["OrderChangeNotification"]["Summary"].update(OrderStatus="Lost"), "OrderStatus"),
        (lambda n: n["Payload"]["OrderChangeNotification"]["Summary"]["OrderItems"][0].update(Quantity="10"),
         "Quantity is not an integer"),
        (lambda n: n["Payload"]["OrderChangeNotification"]["OrderChangeTrigger"].update(TimeOfOrderChange="soon"),
         "TimeOfOrderChange is not an ISO 8601"),
    ],
)  # fmt: skip
def test_malformed_notifications_are_dropped_with_a_reason_naming_the_field(mutate, reason):
    notification = example()
    mutate(notification)
    with pytest.raises(InvalidNotification) as caught:
        parse_notification(json.dumps(notification))
    assert reason in caught.value.reason and not caught.value.foreign
    assert "48110" not in caught.value.reason  # never a value (the postal code is buyer data)


def test_foreign_notifications_are_told_apart():
    other = example() | {"NotificationType": "ANY_OFFER_CHANGED"}
    with pytest.raises(InvalidNotification) as caught:
        parse_notification(json.dumps(other))
    assert caught.value.foreign
    with pytest.raises(InvalidNotification) as caught:
        parse_notification(json.dumps(example()), seller_id="AOTHERSELLER")
    assert caught.value.foreign and "another seller" in caught.value.reason
    assert parse_notification(json.dumps(example()), seller_id="A3TH9S8BH6GOGM").amazon_order_id


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(node, prefix=()):
    """Every (container, key) inside the notification."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield prefix + (index,)
            yield from _paths(value, prefix + (index,))


EXAMPLE_PATHS = None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_whatever_we_accept_is_valid_against_amazons_schema(data):
    """Mutate the example (replace or drop any field); if our check accepts the result, so does the schema."""
    notification = example()
    paths = list(_paths(notification))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        parent = notification
        try:
            for key in path[:-1]:
                parent = parent[key]
            if data.draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = data.draw(JSON_VALUES)
        except (KeyError, IndexError, TypeError):
            continue
    try:
        parse_notification(json.dumps(notification))
    except InvalidNotification:
        return
    assert schema_accepts(notification), notification


@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_message_body_is_either_a_change_or_a_reason(body):
    try:
        assert isinstance(parse_notification(body), OrderChange)
    except InvalidNotification as exc:
        assert exc.reason


CHANGES = st.builds(
    OrderChange,
    amazon_order_id=st.sampled_from(["111-0000001-0000001", "111-0000001-0000002", "111-0000001-0000003"]),
    change_type=st.sampled_from(["OrderStatusChange", "BuyerRequestedChange"]),
    changed_at=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 2, 1), timezones=st.just(UTC)),
    notification_id=st.uuids().map(str),
)


@given(st.lists(CHANGES, max_size=30))
def test_coalesce_keeps_the_latest_change_of_each_order_whatever_the_order_of_arrival(changes):
    folded = coalesce(changes)
    assert [c.amazon_order_id for c in folded] == sorted({c.amazon_order_id for c in changes})
    for kept in folded:
        assert kept.changed_at == max(c.changed_at for c in changes if c.amazon_order_id == kept.amazon_order_id)
    assert coalesce(list(reversed(changes))) == [c for c in folded] or all(
        a.changed_at == b.changed_at for a, b in zip(coalesce(list(reversed(changes))), folded, strict=True)
    )


def test_queue_arn_of_a_queue_url():
    assert queue_arn(QUEUE) == "arn:aws:sqs:us-east-1:123456789012:amazon-order-change"
    with pytest.raises(ValueError, match="not an SQS queue URL"):
        queue_arn("http://127.0.0.1:8784/123456789012/amazon-order-change")


# --------------------------------------------------------------------------------------------------- the sandbox


@pytest.fixture(scope="module")
def notifying_sandbox(tmp_path_factory):
    """A sandbox with its local SQS; the tests' Airflow connections point at it (environment variables)."""
    folder = tmp_path_factory.mktemp("notify")
    box = start_sandbox(f"sqlite:///{folder / 'commerce.db'}", "--notify-duplicates", "0", "--notify-delayed", "0",
                        sqs_port=free_port())  # fmt: skip
    saved = dict(os.environ)
    os.environ.update({f"AIRFLOW_CONN_{k}": json.dumps(v) for k, v in box.airflow_connections().items()})
    try:
        yield box
    finally:
        os.environ.clear()
        os.environ.update(saved)
        box.stop()


def notifications_spec() -> dict:
    path = SPECS_DIR / "sp-api" / "notifications_v1.json"
    if not path.is_file():
        pytest.skip(f"published specs not found at {path}")
    return json.loads(path.read_text())


def check_response(definition: str, body: dict) -> None:
    spec = notifications_spec()
    jsonschema.Draft4Validator({"$ref": f"#/definitions/{definition}", "definitions": spec["definitions"]}).validate(
        body
    )


def receive_all(box, expected: int, wait_s: float = 10) -> list[dict]:
    """The messages on the queue (deleted): until ``expected`` came, then one more second for any extra."""
    from include.adapters.order_queue import sqs_client

    client, bodies, deadline = sqs_client(), [], time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if len(bodies) >= expected:
            deadline = min(deadline, time.monotonic() + 1)
        got = client.receive_message(QueueUrl=QUEUE, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in got.get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            client.delete_message(QueueUrl=QUEUE, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_subscription_command_is_idempotent_and_orders_changes_arrive_schema_valid(notifying_sandbox):
    from include.adapters.accounts import DEFAULT_ACCOUNT
    from include.adapters.hooks.amazon_sp_api import SpApiHook
    from include.clients.amazon.client import NOTIFICATIONS_SCOPE
    from include.clients.amazon.errors import SpApiError
    from include.ops.order_change_subscription import ensure_subscription

    box = notifying_sandbox
    account = DEFAULT_ACCOUNT.__class__(**{**DEFAULT_ACCOUNT.__dict__, "order_change_queue": QUEUE})
    first = ensure_subscription(account, create_queue=True)
    again = ensure_subscription(account, create_queue=True)
    assert first.created == ("queue", "destination", "subscription") and again.created == ()
    assert (first.destination_id, first.subscription_id) == (again.destination_id, again.subscription_id)

    hook = SpApiHook()
    with hook.get_client(grantless_scope=NOTIFICATIONS_SCOPE) as app, hook.get_client() as seller:
        raw = app._http.get("/notifications/v1/destinations", headers={"x-amz-access-token": app._access_token()})
        check_response("GetDestinationsResponse", raw.json())
        raw = seller._http.get(
            "/notifications/v1/subscriptions/ORDER_CHANGE", headers={"x-amz-access-token": seller._access_token()}
        )
        check_response("GetSubscriptionResponse", raw.json())
        with pytest.raises(SpApiError) as refused:  # destinations are grantless: a seller token is refused
            seller._call("getDestinations", "GET", "/notifications/v1/destinations")
        assert refused.value.status == 403
        with pytest.raises(SpApiError) as conflict:
            app.create_destination("again", "arn:aws:sqs:us-east-1:123456789012:amazon-order-change")
        assert conflict.value.status == 409
        with pytest.raises(SpApiError) as bad:
            app.create_destination("bad", "not-an-arn")
        assert bad.value.status == 400

    now = datetime.now(UTC)
    order = ao.order(order_id="111-0000401-0000001", created=now - timedelta(minutes=1), last_updated=now)
    box.spapi("POST", "/_sandbox/orders", json=[order]).raise_for_status()
    box.spapi("POST", f"/_sandbox/orders/{order['orderId']}/cancellation-request", json={}).raise_for_status()
    box.spapi("POST", f"/_sandbox/orders/{order['orderId']}/status", json={"status": "CANCELLED"}).raise_for_status()
    bodies = receive_all(box, 3)
    assert len(bodies) == 3  # no duplicates configured here
    schema = order_change_schema()
    for body in bodies:
        jsonschema.Draft7Validator(schema).validate(body)
        assert parse_notification(json.dumps(body)).amazon_order_id == order["orderId"]
        assert body["NotificationMetadata"]["SubscriptionId"] == first.subscription_id
    kinds = sorted(
        (b["Payload"]["OrderChangeNotification"]["OrderChangeType"],
         b["Payload"]["OrderChangeNotification"]["Summary"]["OrderStatus"]) for b in bodies
    )  # fmt: skip
    assert kinds == [("BuyerRequestedChange", "Unshipped"), ("OrderStatusChange", "Canceled"),
                     ("OrderStatusChange", "Unshipped")]  # fmt: skip


def test_the_subscription_command_reads_its_connections_from_the_metadata_db(notifying_sandbox, airflow_home):
    """As an operator runs it (scripts/airflow-ui does): no AIRFLOW_CONN_* variables, the connections are those
    ``scripts/setup`` stored in the metadata DB; a second run finds what the first made."""
    import subprocess
    import sys

    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    from tests.conftest import PROJECT_ROOT

    stored = {"AMAZON_SP_API": "amazon_sp_api", "AWS_DEFAULT": "aws_default"}
    connections = notifying_sandbox.airflow_connections()
    with create_session() as session:
        for key, conn_id in stored.items():
            session.query(Connection).filter(Connection.conn_id == conn_id).delete()
            session.add(Connection.from_json(json.dumps(connections[key]), conn_id=conn_id))
    env = {k: v for k, v in os.environ.items() if k not in {f"AIRFLOW_CONN_{key}" for key in stored}}
    command = [sys.executable, "-m", "include.ops.order_change_subscription", "--create-queue"]
    runs = [subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
            for _ in range(2)]  # fmt: skip
    assert [r.returncode for r in runs] == [0, 0], [r.stderr[-2000:] for r in runs]
    first, again = (r.stdout.strip().splitlines()[-1] for r in runs)
    assert first.startswith("account default: queue arn:aws:sqs:") and " → destination " in first, first
    assert again == first.split("; created:")[0] + "; created: nothing (all existed)", (first, again)
