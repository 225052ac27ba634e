"""End to end: the amazon_order_sync DAG (dag.test) against both sandboxes over HTTP.

Orders are placed in the SP-API sandbox through its admin API as timelines (a
list of versions of one order, each visible from its lastUpdatedTime), the DAG
runs for real, and the results are read back from Commerce's own tables and
the channel database.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

from tests import amazon_orders as ao
from tests.conftest import task_states, xcom_result

NOW = datetime.now(UTC)
T0 = NOW - timedelta(hours=3)
WINDOW = {"window_start": ao.iso(NOW - timedelta(hours=4))}


def put_orders(sync_env, *versions: dict) -> None:
    """Store order versions in the SP-API sandbox (same orderId = one timeline)."""
    sync_env.sandbox.spapi("POST", "/_sandbox/orders", json=list(versions)).raise_for_status()


def commerce_rows(sync_env, sql: str, **params) -> list[dict]:
    engine = create_engine(sync_env.sandbox.commerce_db)
    try:
        with engine.connect() as conn:
            return [dict(row) for row in conn.execute(text(sql), params).mappings()]
    finally:
        engine.dispose()


def commerce_orders(sync_env, amazon_id: str) -> list[dict]:
    return commerce_rows(sync_env, "SELECT * FROM sales_order WHERE ext_order_id = :id", id=amazon_id)


def channel_order(sync_env, amazon_id: str) -> dict:
    with sync_env.engine.connect() as conn:
        return dict(
            conn.execute(text("SELECT * FROM channel_order WHERE amazon_order_id = :id"), {"id": amazon_id})
            .mappings()
            .one()
        )


def notifications(sync_env) -> list[dict]:
    return sync_env.sandbox.commerce("GET", "/_sandbox/notifications").json()


def mfn(order_id: str, status: str = "UNSHIPPED", minutes: int = 10, **kwargs) -> dict:
    """An MFN order version last updated ``minutes`` after T0."""
    return ao.order(
        *kwargs.pop("items", ()),
        order_id=order_id,
        status=status,
        created=T0,
        last_updated=T0 + timedelta(minutes=minutes),
        **{"pending": status == "PENDING", **kwargs},
    )


def assert_success(dag_run) -> dict[str, str]:
    states = task_states(dag_run)
    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS"), states
    return states


def test_pending_is_staged_only_then_imported_once_unshipped(sync_env):
    pending = mfn("111-0000001-0000001", "PENDING", minutes=1)
    put_orders(sync_env, pending)
    states = assert_success(sync_env.run_sync(**WINDOW))
    assert commerce_orders(sync_env, "111-0000001-0000001") == []
    row = channel_order(sync_env, "111-0000001-0000001")
    assert (row["channel_status"], row["import_status"]) == ("Pending", "staged")
    assert states["merchant_fulfilled.plan_chunks"] == "skipped"

    put_orders(sync_env, pending, mfn("111-0000001-0000001", "UNSHIPPED", minutes=20))
    assert_success(sync_env.run_sync(**WINDOW))
    [order] = commerce_orders(sync_env, "111-0000001-0000001")
    assert order["state"] == "processing" and order["status"] == "processing"  # invoiced offline
    row = channel_order(sync_env, "111-0000001-0000001")
    assert row["import_status"] == "imported" and row["commerce_order_id"] == order["entity_id"]
    assert row["commerce_increment_id"] == order["increment_id"]


def test_totals_items_and_addresses_match_amazon(sync_env):
    items = (
        ao.line(
            "MUG-001", qty=2, unit="12.50", shipping="4.99", tax_rate="0.1025", item_discount="2.50", currency="USD"
        ),
        ao.line("TEE-002", qty=1, unit="19.99", tax_rate="0.1025", currency="USD"),
    )
    amazon = mfn("111-0000002-0000002", items=items)
    put_orders(sync_env, amazon)
    assert_success(sync_env.run_sync(**WINDOW))
    [order] = commerce_orders(sync_env, "111-0000002-0000002")
    assert Decimal(str(order["grand_total"])).quantize(Decimal("0.01")) == Decimal(
        amazon["proceeds"]["grandTotal"]["amount"]
    )
    assert order["order_currency_code"] == "USD" and order["store_id"] == 1
    assert order["customer_is_guest"] in (1, True)
    lines = commerce_rows(
        sync_env,
        "SELECT sku, qty_ordered, price FROM sales_order_item WHERE order_id = :id ORDER BY sku",
        id=order["entity_id"],
    )
    assert [(r["sku"], float(r["qty_ordered"]), float(r["price"])) for r in lines] == [
        ("MUG-001", 2.0, 12.5),
        ("TEE-002", 1.0, 19.99),
    ]
    addresses = commerce_rows(
        sync_env,
        "SELECT address_type, city FROM sales_order_address WHERE parent_id = :id ORDER BY address_type",
        id=order["entity_id"],
    )
    assert [(a["address_type"], a["city"]) for a in addresses] == [("billing", "Seattle"), ("shipping", "Seattle")]
    payment = commerce_rows(
        sync_env, "SELECT method FROM sales_order_payment WHERE parent_id = :id", id=order["entity_id"]
    )
    assert payment == [{"method": "amazonpayment"}]


def test_create_customer_mode_reuses_returning_buyers(sync_env):
    sync_env.settings(customer_creation="create")
    first = mfn("111-0000003-0000001", buyer_email="returning.buyer@marketplace.amazon.com")
    second = mfn("111-0000003-0000002", minutes=30, buyer_email="returning.buyer@marketplace.amazon.com")
    other = mfn("111-0000003-0000003", buyer_email="someone.else@marketplace.amazon.com")
    put_orders(sync_env, first, second, other)
    summary = xcom_result(assert_run := sync_env.run_sync(**WINDOW), "summarize")
    assert_success(assert_run)
    customers = commerce_rows(sync_env, "SELECT entity_id, email FROM customer_entity ORDER BY email")
    assert [c["email"] for c in customers] == [
        "returning.buyer@marketplace.amazon.com",
        "someone.else@marketplace.amazon.com",
    ]
    owner = {c["email"]: c["entity_id"] for c in customers}
    for amazon_id, email in (
        ("111-0000003-0000001", "returning"),
        ("111-0000003-0000002", "returning"),
        ("111-0000003-0000003", "someone"),
    ):
        [order] = commerce_orders(sync_env, amazon_id)
        expected = next(v for k, v in owner.items() if k.startswith(email))
        assert order["customer_id"] == expected and order["customer_is_guest"] in (0, False)
    assert summary["outcomes"]["customers_created"] == 2
    # Account e-mails are Commerce's own (allowed); nothing about orders, invoices or shipments.
    assert {n["type"] for n in notifications(sync_env)} == {"new_account"}


def test_guest_mode_creates_no_customer(sync_env):
    put_orders(sync_env, mfn("111-0000004-0000001"))
    assert_success(sync_env.run_sync(**WINDOW))
    assert commerce_rows(sync_env, "SELECT entity_id FROM customer_entity") == []
    [order] = commerce_orders(sync_env, "111-0000004-0000001")
    assert order["customer_id"] is None and order["customer_email"] == "ana.smith.test@marketplace.amazon.com"


def fba(order_id: str, status: str, minutes: int = 10) -> dict:
    return ao.order(
        order_id=order_id,
        status=status,
        fulfilled_by="AMAZON",
        created=T0,
        last_updated=T0 + timedelta(minutes=minutes),
        buyer_email=None,
        phone=None,
        pending=status == "PENDING",
    )


def test_fba_is_imported_only_when_shipped_and_as_complete(sync_env):
    sync_env.settings(fba_import=True)
    put_orders(sync_env, fba("111-0000005-0000001", "PENDING", 1))
    assert_success(sync_env.run_sync(**WINDOW))
    assert commerce_orders(sync_env, "111-0000005-0000001") == []

    put_orders(sync_env, fba("111-0000005-0000001", "PENDING", 1), fba("111-0000005-0000001", "SHIPPED", 30))
    states = assert_success(sync_env.run_sync(**WINDOW))
    assert states["fulfilled_by_amazon.import_orders"] == ["success"]
    [order] = commerce_orders(sync_env, "111-0000005-0000001")
    assert order["state"] == "complete"
    assert (
        len(commerce_rows(sync_env, "SELECT entity_id FROM sales_invoice WHERE order_id = :id", id=order["entity_id"]))
        == 1
    )
    assert (
        len(commerce_rows(sync_env, "SELECT entity_id FROM sales_shipment WHERE order_id = :id", id=order["entity_id"]))
        == 1
    )
    assert notifications(sync_env) == []


def test_fba_is_not_imported_when_disabled(sync_env):
    put_orders(sync_env, fba("111-0000006-0000001", "SHIPPED"))
    states = assert_success(sync_env.run_sync(**WINDOW))
    assert states["fulfilled_by_amazon.plan_chunks"] == "skipped"
    assert commerce_orders(sync_env, "111-0000006-0000001") == []
    row = channel_order(sync_env, "111-0000006-0000001")
    assert row["import_status"] == "skipped" and "FBA import is disabled" in row["import_error"]


def test_cancellation_before_import_and_after_invoice(sync_env):
    early = "111-0000007-0000001"
    late = "111-0000007-0000002"
    put_orders(sync_env, mfn(early, "PENDING", 1), mfn(early, "CANCELLED", 5, pending=True), mfn(late))
    assert_success(sync_env.run_sync(**WINDOW))
    assert commerce_orders(sync_env, early) == []
    assert channel_order(sync_env, early)["channel_status"] == "Canceled"
    [order] = commerce_orders(sync_env, late)
    assert order["state"] == "processing"

    put_orders(sync_env, mfn(late), mfn(late, "CANCELLED", 40))
    assert_success(sync_env.run_sync(**WINDOW))
    [order] = commerce_orders(sync_env, late)
    assert order["state"] == "closed"  # invoiced, so refunded with an offline credit memo
    assert (
        len(
            commerce_rows(
                sync_env, "SELECT entity_id FROM sales_creditmemo WHERE order_id = :id", id=order["entity_id"]
            )
        )
        == 1
    )
    assert channel_order(sync_env, late)["import_status"] == "canceled"
    assert notifications(sync_env) == []


def test_unknown_sku_is_quarantined_then_imported_after_the_product_is_added(sync_env):
    amazon_id = "111-0000008-0000001"
    put_orders(sync_env, mfn(amazon_id, items=(ao.line("NEW-999", unit="30.00"),)))
    run = sync_env.run_sync(**WINDOW)
    assert_success(run)  # the batch goes on: the run is green, the order is kept out
    row = channel_order(sync_env, amazon_id)
    assert row["import_status"] == "failed" and row["import_attempts"] == 1
    assert "product that was requested doesn't exist" in row["import_error"] and "NEW-999" in row["import_error"]
    assert any(f["amazon_order_id"] == amazon_id for f in xcom_result(run, "summarize")["failures"])

    assert_success(sync_env.run_sync(**WINDOW))
    assert channel_order(sync_env, amazon_id)["import_attempts"] == 1  # not due yet (retry policy): left alone

    sync_env.sandbox.commerce(
        "POST", "/_sandbox/products", json=[{"sku": "NEW-999", "name": "New", "price": 30}]
    ).raise_for_status()
    assert_success(sync_env.run_sync(amazon_order_ids=[amazon_id]))  # the operator re-syncs it by id: tried now
    assert len(commerce_orders(sync_env, amazon_id)) == 1
    assert channel_order(sync_env, amazon_id)["import_status"] == "imported"


def test_rerunning_the_same_window_three_times_changes_nothing(sync_env):
    sync_env.settings(customer_creation="create", fba_import=True)
    sync_env.sandbox.spapi(
        "POST", "/_sandbox/orders/generate", json={"count": 40, "hours": 3, "seed": 11}
    ).raise_for_status()
    window = {"window_start": ao.iso(NOW - timedelta(hours=4))}
    assert_success(sync_env.run_sync(**window))
    snapshot = lambda: (  # noqa: E731
        commerce_rows(
            sync_env, "SELECT entity_id, ext_order_id, state, status, grand_total FROM sales_order ORDER BY entity_id"
        ),
        commerce_rows(sync_env, "SELECT entity_id, email FROM customer_entity ORDER BY entity_id"),
        commerce_rows(sync_env, "SELECT entity_id FROM sales_invoice ORDER BY entity_id"),
        commerce_rows(sync_env, "SELECT entity_id FROM sales_shipment ORDER BY entity_id"),
    )
    first = snapshot()
    assert len(first[0]) > 10
    for _ in range(3):
        assert_success(sync_env.run_sync(**window))
        assert snapshot() == first
    ext_ids = [o["ext_order_id"] for o in first[0]]
    assert len(ext_ids) == len(set(ext_ids))


def test_a_lost_create_response_heals_without_a_duplicate(sync_env):
    amazon_id = "111-0000009-0000001"
    put_orders(sync_env, mfn(amazon_id))
    sync_env.sandbox.commerce(
        "PUT",
        "/_sandbox/faults",
        json={"rules": [{"kind": "lost_response", "count": 1, "method": "PUT", "path": "/V1/orders/create"}]},
    ).raise_for_status()
    assert_success(sync_env.run_sync(**WINDOW))
    assert_success(sync_env.run_sync(**WINDOW))
    [order] = commerce_orders(sync_env, amazon_id)
    assert order["state"] == "processing"
    assert channel_order(sync_env, amazon_id)["commerce_order_id"] == order["entity_id"]


def test_an_order_recorded_nowhere_after_a_crash_is_found_by_ext_order_id(sync_env):
    """Commerce created it, we never recorded it (task killed): the next run links it, no second order."""
    amazon_id = "111-0000010-0000001"
    put_orders(sync_env, mfn(amazon_id))
    assert_success(sync_env.run_sync(**WINDOW, dry_run=True))  # staged only
    from include.clients.commerce.client import CommerceClient
    from include.domain.mapping import StoreRef, to_commerce_order
    from include.domain.settings import parse_settings

    with CommerceClient(sync_env.sandbox.commerce_url, username="admin", password="sandbox-admin-123") as client:
        amazon = sync_env.sandbox.spapi("GET", f"/_sandbox/orders/{amazon_id}").json()
        latest = amazon[-1] if isinstance(amazon, list) else amazon["versions"][-1]
        client.create_order(
            to_commerce_order(
                latest,
                store=StoreRef(1, 1, "default", "USD"),
                settings=parse_settings({}),
                customer_id=None,
                increment_id=None,
            )
        )
    assert_success(sync_env.run_sync(**WINDOW))
    [order] = commerce_orders(sync_env, amazon_id)
    assert order["state"] == "processing"  # the healed order was still invoiced
    assert channel_order(sync_env, amazon_id)["commerce_order_id"] == order["entity_id"]


def test_dry_run_writes_nothing_to_commerce(sync_env):
    put_orders(sync_env, mfn("111-0000011-0000001"))
    states = assert_success(sync_env.run_sync(**WINDOW, dry_run=True))
    assert commerce_orders(sync_env, "111-0000011-0000001") == []
    assert channel_order(sync_env, "111-0000011-0000001")["import_status"] == "importable"
    assert states["merchant_fulfilled.plan_chunks"] == "skipped"


def test_resync_by_order_id_uses_get_order(sync_env):
    put_orders(sync_env, mfn("111-0000012-0000001"), mfn("111-0000012-0000002"))
    run = sync_env.run_sync(amazon_order_ids=["111-0000012-0000002", "111-9999999-9999999"])
    assert_success(run)
    assert commerce_orders(sync_env, "111-0000012-0000001") == []
    assert len(commerce_orders(sync_env, "111-0000012-0000002")) == 1
    assert xcom_result(run, "summarize")["not_found"] == ["111-9999999-9999999"]


def test_empty_window_succeeds_quickly_with_groups_skipped(sync_env):
    started = time.monotonic()
    run = sync_env.run_sync(window_start=ao.iso(NOW - timedelta(minutes=30)))
    states = assert_success(run)
    assert states["merchant_fulfilled.plan_chunks"] == "skipped"
    assert states["fulfilled_by_amazon.plan_chunks"] == "skipped"
    assert states["summarize"] == "success"
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("sync_env", ["mariadb", "postgres"], indirect=True)
def test_channel_tables_on_other_databases(sync_env):
    sync_env.settings(fba_import=True)
    sync_env.sandbox.spapi(
        "POST", "/_sandbox/orders/generate", json={"count": 25, "hours": 3, "seed": 5}
    ).raise_for_status()
    window = {"window_start": ao.iso(NOW - timedelta(hours=4))}
    assert_success(sync_env.run_sync(**window))
    first = commerce_rows(sync_env, "SELECT ext_order_id FROM sales_order ORDER BY ext_order_id")
    assert len(first) > 5
    assert_success(sync_env.run_sync(**window))
    assert commerce_rows(sync_env, "SELECT ext_order_id FROM sales_order ORDER BY ext_order_id") == first


def test_buyer_detail_changes_reach_the_imported_order(sync_env):
    amazon_id = "111-0000013-0000001"
    first = mfn(amazon_id, buyer_name="Ana Smith", buyer_email="ana.old@marketplace.amazon.com")
    put_orders(sync_env, first)
    assert_success(sync_env.run_sync(**WINDOW))
    changed = mfn(amazon_id, minutes=50, buyer_name="Ana Jones", buyer_email="ana.new@marketplace.amazon.com")
    put_orders(sync_env, first, changed)
    run = sync_env.run_sync(**WINDOW)
    states = assert_success(run)
    assert states["merchant_fulfilled.apply_amazon_changes"] == "success"
    [order] = commerce_orders(sync_env, amazon_id)
    assert (order["customer_email"], order["customer_firstname"], order["customer_lastname"]) == (
        "ana.new@marketplace.amazon.com", "Ana", "Jones",
    )  # fmt: skip
    assert xcom_result(run, "merchant_fulfilled.apply_amazon_changes")["outcomes"]["updated"] == 1
    assert_success(sync_env.run_sync(**WINDOW))  # applied once: nothing left to update
    assert channel_order(sync_env, amazon_id)["import_status"] == "imported"
    assert notifications(sync_env) == []


def test_cancellation_before_invoice_of_an_order_left_by_a_failed_attempt(sync_env):
    """Commerce created the order but the invoice failed; Amazon then cancels: the next run cancels it in Commerce."""
    amazon_id = "111-0000014-0000001"
    put_orders(sync_env, mfn(amazon_id))
    conn = json.loads(os.environ["AIRFLOW_CONN_COMMERCE_API"])
    conn["extra"]["max_retries"] = 0  # give up on the invoice within this run
    sync_env.monkeypatch.setenv("AIRFLOW_CONN_COMMERCE_API", json.dumps(conn))
    sync_env.sandbox.commerce(
        "PUT", "/_sandbox/faults", json={"rules": [{"kind": "503", "path": "/invoice", "method": "POST"}]}
    ).raise_for_status()
    assert_success(sync_env.run_sync(**WINDOW))
    [order] = commerce_orders(sync_env, amazon_id)
    assert order["state"] == "new"  # created, not invoiced
    row = channel_order(sync_env, amazon_id)
    assert row["import_status"] == "failed" and row["commerce_order_id"] is None

    sync_env.sandbox.commerce("PUT", "/_sandbox/faults", json={}).raise_for_status()
    put_orders(sync_env, mfn(amazon_id), mfn(amazon_id, "CANCELLED", 40))
    assert_success(sync_env.run_sync(**WINDOW))
    [order] = commerce_orders(sync_env, amazon_id)
    assert order["state"] == "canceled"
    row = channel_order(sync_env, amazon_id)
    assert (row["import_status"], row["commerce_order_id"]) == ("canceled", order["entity_id"])
    assert commerce_rows(sync_env, "SELECT entity_id FROM sales_invoice") == []
    assert notifications(sync_env) == []


def test_cancelled_order_with_failed_attempts_and_nothing_in_commerce_is_settled_once(sync_env):
    amazon_id = "111-0000015-0000001"
    put_orders(sync_env, mfn(amazon_id, items=(ao.line("NEW-998", unit="5.00"),)))
    assert_success(sync_env.run_sync(**WINDOW))
    assert channel_order(sync_env, amazon_id)["import_status"] == "failed"
    put_orders(
        sync_env,
        mfn(amazon_id, items=(ao.line("NEW-998", unit="5.00"),)),
        mfn(amazon_id, "CANCELLED", 40, items=(ao.line("NEW-998", unit="5.00"),)),
    )
    run = sync_env.run_sync(**WINDOW)
    assert_success(run)
    row = channel_order(sync_env, amazon_id)
    assert (row["import_status"], row["import_error"]) == ("canceled", None)
    assert xcom_result(run, "merchant_fulfilled.apply_amazon_changes")["outcomes"]["settled"] == 1
    states = assert_success(sync_env.run_sync(**WINDOW))
    assert states["merchant_fulfilled.plan_chunks"] == "skipped"  # nothing left to look at
    assert commerce_orders(sync_env, amazon_id) == []
