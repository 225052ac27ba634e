"""End to end: amazon_tracking_push (dag.test) against both sandboxes, plus its channel tables on three databases.

The flow is the production one: Amazon orders are placed in the SP-API sandbox,
``amazon_order_sync`` imports them into Commerce, a warehouse ships them through
the Commerce REST API (``POST /V1/order/{id}/ship`` with tracks, ``notify``
false), and ``amazon_tracking_push`` runs. Both sides are then read back: the
SP-API sandbox's record of confirmations and the orders' packages and statuses,
Commerce's orders, status history and notification log, and the channel tables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from include import channel_db as db
from include.clients.commerce.client import CommerceClient
from include.domain.import_rules import IMPORTABLE_STATUSES
from include.domain.tracking import COMMENT_PREFIX, Package, package_reference_id
from sandbox import credentials
from tests import amazon_orders as ao
from tests.conftest import CIPHER, PROJECT_ROOT, run_dag, task_states, xcom_result

NOW = datetime.now(UTC)
T0 = NOW - timedelta(hours=3)
WINDOW = {"window_start": ao.iso(NOW - timedelta(hours=4))}


# ----------------------------------------------------------------------------------------------------------- helpers


def mfn(order_id: str, *items: dict, **kwargs) -> dict:
    return ao.order(*items, order_id=order_id, created=T0, last_updated=T0 + timedelta(minutes=10), **kwargs)


def put_orders(env, *orders: dict) -> None:
    env.sandbox.spapi("POST", "/_sandbox/orders", json=list(orders)).raise_for_status()


def succeeded(dag_run) -> dict[str, str]:
    states = task_states(dag_run)
    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS"), states
    return states


def sync(env) -> None:
    summary = xcom_result(dag_run := env.run_sync(**WINDOW), "summarize")
    succeeded(dag_run)
    assert not summary["failures"], summary["failures"]


def push(env, **conf) -> tuple[dict, dict[str, str]]:
    dag_run = run_dag("amazon_tracking_push", conf)
    states = succeeded(dag_run)
    return xcom_result(dag_run, "summarize"), states


@pytest.fixture
def commerce(sync_env):
    with CommerceClient(
        sync_env.sandbox.commerce_url,
        username=credentials.COMMERCE_ADMIN_USER,
        password=credentials.COMMERCE_ADMIN_PASSWORD,
    ) as client:
        yield client


def commerce_order(client: CommerceClient, amazon_id: str) -> dict:
    [order] = client.find_orders_by_ext_order_id(amazon_id)
    return order


def ship(client: CommerceClient, amazon_id: str, tracks: list[tuple[str, str, str]], **units: int) -> int:
    """Ship in Commerce as a warehouse does: chosen SKUs and quantities (all that is left if none), one track each."""
    order = commerce_order(client, amazon_id)
    items = None
    if units:
        by_sku = {i["sku"]: i["item_id"] for i in order["items"]}
        items = [{"order_item_id": by_sku[sku.replace("_", "-")], "qty": qty} for sku, qty in units.items()]
    return client.ship_order(
        int(order["entity_id"]),
        items=items,
        tracks=[{"carrier_code": code, "title": title, "track_number": number} for code, title, number in tracks],
        notify=False,
    )


def confirmations(env, amazon_id: str | None = None) -> list[dict]:
    found = env.sandbox.spapi("GET", "/_sandbox/shipment-confirmations").json()
    return [c for c in found if amazon_id is None or c["orderId"] == amazon_id]


def amazon_order(env, amazon_id: str) -> dict:
    return env.sandbox.spapi("GET", f"/_sandbox/orders/{amazon_id}").json()["versions"][-1]


def amazon_status(env, amazon_id: str) -> str:
    return amazon_order(env, amazon_id)["fulfillment"]["fulfillmentStatus"]


def channel(env, sql: str, **params) -> list[dict]:
    with env.engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def pushes(env, amazon_id: str) -> list[dict]:
    return channel(
        env,
        "SELECT * FROM channel_shipment_push WHERE amazon_order_id = :id ORDER BY commerce_shipment_id, commerce_track_id",
        id=amazon_id,
    )


def channel_status(env, amazon_id: str) -> str:
    return channel(env, "SELECT channel_status FROM channel_order WHERE amazon_order_id = :id", id=amazon_id)[0][
        "channel_status"
    ]


def confirmed_quantities(env, amazon_id: str) -> dict[str, tuple[int, int]]:
    rows = channel(
        env,
        "SELECT sku, quantity_ordered, quantity_confirmed FROM channel_order_item WHERE amazon_order_id = :id",
        id=amazon_id,
    )
    return {r["sku"]: (r["quantity_confirmed"], r["quantity_ordered"]) for r in rows}


def tracking_comments(client: CommerceClient, amazon_id: str) -> list[dict]:
    history = client.get_order_comments(int(commerce_order(client, amazon_id)["entity_id"]))["items"]
    return [h for h in history if str(h.get("comment") or "").startswith(COMMENT_PREFIX)]


def commerce_notifications(env) -> list[dict]:
    return env.sandbox.commerce("GET", "/_sandbox/notifications").json()


def sp_api_retries(env, max_retries: int) -> None:
    """Let the SP-API client retry only ``max_retries`` times within a run (so faults outlast a run)."""
    conn = json.loads(os.environ["AIRFLOW_CONN_AMAZON_SP_API"])
    conn["extra"]["max_retries"] = max_retries
    env.monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API", json.dumps(conn))


def commerce_patience(env, **extra) -> None:
    """Tune the Commerce client of the DAG tasks (e.g. fewer retries, no settle delay) for a fault test."""
    conn = json.loads(os.environ["AIRFLOW_CONN_COMMERCE_API"])
    conn["extra"].update(extra)
    env.monkeypatch.setenv("AIRFLOW_CONN_COMMERCE_API", json.dumps(conn))


def web_store_order(client: CommerceClient) -> int:
    """A Commerce order placed in the web store (no ext_order_id, no channel order); returns its id."""
    from include.domain.mapping import StoreRef, to_commerce_order
    from include.domain.settings import OrderSettings

    entity = to_commerce_order(
        ao.order(ao.line("MUG-005", unit="14.15"), order_id="999-0000000-0000001"),
        store=StoreRef(store_id=1, website_id=1, code="default", currency="USD"),
        settings=OrderSettings(),
        customer_id=None,
        increment_id="WEB-000001",
    )
    entity.pop("ext_order_id")
    for item in entity["items"]:
        item.pop("ext_order_item_id")
    order_id = int(client.create_order(entity)["entity_id"])
    client.invoice_order(order_id, notify=False)
    return order_id


FULL, PART, TWO, OTHER, FBA, CANCEL = (f"111-20000{n}1-0000001" for n in range(6))


# ----------------------------------------------------------------------------------------------------------- end to end


def test_shipments_become_amazon_confirmations_and_both_sides_end_right(sync_env, commerce):
    """Full, partial then the rest, two tracking numbers, unknown carrier, FBA, cancelled on Amazon, re-runs."""
    sync_env.settings(fba_import=True)
    put_orders(
        sync_env,
        mfn(FULL, ao.line("MUG-001", qty=2, unit="12.50"), ao.line("TEE-002", unit="19.99")),
        mfn(PART, ao.line("MUG-002", qty=3, unit="13.15"), ao.line("CAP-001", unit="15.25")),
        mfn(TWO, ao.line("BTL-001", qty=2, unit="25.24")),
        mfn(OTHER, ao.line("NBK-001", unit="10.24")),
        ao.order(
            order_id=FBA, status="SHIPPED", fulfilled_by="AMAZON", created=T0, last_updated=T0 + timedelta(minutes=9)
        ),
        mfn(CANCEL, ao.line("MUG-003", unit="13.40")),
    )
    sync(sync_env)

    ship(commerce, FULL, [("ups", "UPS Ground", "1Z0000000000000001")])
    ship(commerce, PART, [("fedex", "Federal Express", "794600000001")], MUG_002=1)
    ship(
        commerce, TWO, [("usps", "United States Postal Service", "9400100000000000000001"), ("dhl", "DHL", "JD0000001")]
    )
    ship(commerce, OTHER, [("custom", "Acme Couriers", "ACME-42")])
    ship(commerce, CANCEL, [("ups", "UPS", "1Z0000000000000009")])
    web_order = web_store_order(commerce)  # a Commerce order that never came from Amazon, shipped with tracking
    commerce.ship_order(web_order, tracks=[{"carrier_code": "ups", "title": "UPS", "track_number": "1ZWEB"}])
    fba_order = commerce_order(commerce, FBA)
    assert fba_order["state"] == "complete"
    fba_shipment = next(
        s for s in commerce.iter_shipments() if int(s["order_id"]) == int(fba_order["entity_id"])
    )  # created by the sync
    commerce.add_shipment_track(
        {"parent_id": fba_shipment["entity_id"], "order_id": fba_order["entity_id"], "track_number": "FBA-TRACK-1",
         "carrier_code": "ups", "title": "UPS"}
    )  # fmt: skip
    sync_env.sandbox.spapi("POST", f"/_sandbox/orders/{CANCEL}/status", json={"status": "CANCELLED"}).raise_for_status()

    # A dry run shows what would go and writes nothing anywhere.
    summary, states = push(sync_env, dry_run=True)
    assert confirmations(sync_env) == [] and channel(sync_env, "SELECT * FROM channel_shipment_push") == []
    assert states["amazon_confirmations.confirm_packages"] == "skipped"
    assert summary["packages_found"]["new"] == 6 and len(summary["would_send"]) == 6
    assert summary["shipments"]["fulfilled_by_amazon"] == 1
    assert db.high_water_mark(sync_env.engine, "amazon_tracking_push") is None

    summary, states = push(sync_env)
    assert states["commerce_orders.complete_orders"] == "success"
    assert summary["packages"] == {"sent": 6, "confirmed": 5, "failed": 0, "refused": 1, "waiting": 0, "held": 0}
    assert summary["shipments"]["fulfilled_by_amazon"] == 1 and summary["shipments"]["amazon_merchant_fulfilled"] == 5
    assert summary["shipments"]["not_amazon"] == 1
    assert summary["orders_shipped"] == 3 and summary["orders_partially_shipped"] == 1
    assert sorted(summary["orders_completed_ids"]) == sorted([FULL, TWO, OTHER])
    [refusal] = summary["problems"]
    assert refusal["amazon_order_id"] == CANCEL and refusal["status"] == "refused"

    # Amazon: one confirmation per package with the right carrier, items and quantities.
    [full] = confirmations(sync_env, FULL)
    detail = full["body"]["packageDetail"]
    assert (detail["carrierCode"], detail["shippingMethod"], detail["trackingNumber"]) == (
        "UPS",
        "UPS Ground",
        "1Z0000000000000001",
    )
    items = {i["orderItemId"]: i["quantity"] for i in detail["orderItems"]}
    assert items == {i["orderItemId"]: i["quantityOrdered"] for i in amazon_order(sync_env, FULL)["orderItems"]}
    assert full["body"]["marketplaceId"] == "ATVPDKIKX0DER"
    shipment_id, track_id = (pushes(sync_env, FULL)[0][k] for k in ("commerce_shipment_id", "commerce_track_id"))
    assert detail["packageReferenceId"] == package_reference_id(shipment_id, track_id)
    two = [c["body"]["packageDetail"] for c in confirmations(sync_env, TWO)]
    assert [d["carrierCode"] for d in two] == ["USPS", "DHL"]
    assert [[i["quantity"] for i in d["orderItems"]] for d in two] == [[1], [1]]
    assert len({d["packageReferenceId"] for d in two}) == 2
    [other] = confirmations(sync_env, OTHER)
    assert (other["body"]["packageDetail"]["carrierCode"], other["body"]["packageDetail"]["carrierName"]) == (
        "Other", "Acme Couriers",
    )  # fmt: skip
    [part] = confirmations(sync_env, PART)
    assert part["body"]["packageDetail"]["carrierCode"] == "FedEx"
    assert [i["quantity"] for i in part["body"]["packageDetail"]["orderItems"]] == [1]
    assert confirmations(sync_env, FBA) == [] and confirmations(sync_env, CANCEL) == []
    assert {oid: amazon_status(sync_env, oid) for oid in (FULL, PART, TWO, OTHER, CANCEL)} == {
        FULL: "SHIPPED", PART: "PARTIALLY_SHIPPED", TWO: "SHIPPED", OTHER: "SHIPPED", CANCEL: "CANCELLED",
    }  # fmt: skip

    # Channel tables: per-item confirmations, channel status, the refusal kept with Amazon's reason.
    assert confirmed_quantities(sync_env, FULL) == {"MUG-001": (2, 2), "TEE-002": (1, 1)}
    assert confirmed_quantities(sync_env, PART) == {"MUG-002": (1, 3), "CAP-001": (0, 1)}
    assert {oid: channel_status(sync_env, oid) for oid in (FULL, PART, TWO, OTHER)} == {
        FULL: "Shipped", PART: "PartiallyShipped", TWO: "Shipped", OTHER: "Shipped",
    }  # fmt: skip
    [cancelled] = pushes(sync_env, CANCEL)
    assert (cancelled["status"], cancelled["attempts"]) == ("refused", 1)
    assert "cancelled" in cancelled["last_error"] and "InvalidInput" in cancelled["last_error"]
    assert pushes(sync_env, FBA) == []
    assert {p["status"] for oid in (FULL, TWO, OTHER, PART) for p in pushes(sync_env, oid)} == {"confirmed"}

    # Commerce: complete with one quiet comment once every item is confirmed; the partial order is not.
    for oid in (FULL, TWO, OTHER):
        assert commerce_order(commerce, oid)["state"] == "complete"
        [comment] = tracking_comments(commerce, oid)
        assert not comment["is_customer_notified"]
    assert "UPS 1Z0000000000000001" in tracking_comments(commerce, FULL)[0]["comment"]
    assert commerce_order(commerce, PART)["state"] == "processing" and tracking_comments(commerce, PART) == []

    # Re-running sends nothing twice, and the refusal is not retried.
    before = confirmations(sync_env)
    summary, states = push(sync_env)
    assert confirmations(sync_env) == before
    assert summary["packages"]["sent"] == 0 and summary["packages_found"]["unchanged"] == 6
    assert states["amazon_confirmations.confirm_packages"] == "skipped"
    assert pushes(sync_env, CANCEL)[0]["attempts"] == 1

    # The rest of the partial order ships; a tracking number is corrected on an already confirmed package.
    ship(commerce, PART, [("usps", "USPS Priority Mail", "9400100000000000000002")])
    full_push = pushes(sync_env, FULL)[0]
    commerce.add_shipment_track(
        {"entity_id": full_push["commerce_track_id"], "parent_id": full_push["commerce_shipment_id"],
         "order_id": full_push["commerce_order_id"], "track_number": "1Z0000000000000077", "carrier_code": "ups",
         "title": "UPS Ground"}
    )  # fmt: skip
    summary, _ = push(sync_env)
    assert summary["packages_found"]["new"] == 1 and summary["packages_found"]["edited"] == 1
    assert summary["packages"] == {"sent": 2, "confirmed": 2, "failed": 0, "refused": 0, "waiting": 0, "held": 0}
    assert summary["orders_completed_ids"] == [PART]
    assert len(confirmations(sync_env, PART)) == 2 and amazon_status(sync_env, PART) == "SHIPPED"
    assert confirmed_quantities(sync_env, PART) == {"MUG-002": (3, 3), "CAP-001": (1, 1)}
    assert channel_status(sync_env, PART) == "Shipped" and commerce_order(commerce, PART)["state"] == "complete"
    assert len(tracking_comments(commerce, PART)) == 1
    [package] = amazon_order(sync_env, FULL)["packages"]  # the edit replaced the package, it did not add one
    assert package["trackingNumber"] == "1Z0000000000000077"
    assert len(tracking_comments(commerce, FULL)) == 1

    # Re-reading every shipment ever (a manual window) or chosen orders sends nothing again.
    before = confirmations(sync_env)
    summary, _ = push(sync_env, shipments_since=ao.iso(NOW - timedelta(days=3)))
    summary_ids, _ = push(sync_env, amazon_order_ids=[FULL, PART, CANCEL])
    assert confirmations(sync_env) == before
    assert summary["packages"]["sent"] == 0 and summary_ids["packages"]["sent"] == 0
    assert summary["shipments"]["amazon_merchant_fulfilled"] == 6
    assert summary["channel_totals"]["packages"] == {"confirmed": 6, "refused": 1}

    # No Commerce e-mail about orders, invoices or shipments, ever.
    assert [n for n in commerce_notifications(sync_env) if n["type"] in ("shipment", "order_comment", "invoice")] == []


@pytest.mark.parametrize(
    "sync_env", [None, "mariadb", "postgres"], indirect=True, ids=["sqlite", "mariadb", "postgres"]
)
def test_amazon_faults_are_retried_on_the_next_run_and_confirmed_once(sync_env, commerce):
    """A 5xx and a timeout outlasting the client's retries leave the package failed; the next run confirms it once."""
    err, slow, lost = "111-3000001-0000001", "111-3000002-0000001", "111-3000003-0000001"
    put_orders(sync_env, *(mfn(oid, ao.line("PEN-001", qty=2, unit="6.74")) for oid in (err, slow, lost)))
    sync(sync_env)
    for n, oid in enumerate((err, slow, lost)):
        ship(commerce, oid, [("ups", "UPS Ground", f"1Z00000000000000{n}5")])
    sp_api_retries(sync_env, 1)
    rules = [
        {"kind": "503", "path": f"{err}/shipmentConfirmation", "count": 5},
        {"kind": "timeout", "path": f"{slow}/shipmentConfirmation", "count": 5, "delay_s": 0.05},
        {"kind": "lost_response", "path": f"{lost}/shipmentConfirmation", "count": 1},
    ]
    sync_env.sandbox.spapi("PUT", "/_sandbox/faults", json={"seed": 1, "rules": rules}).raise_for_status()

    summary, _ = push(sync_env)
    assert summary["packages"] == {"sent": 3, "confirmed": 1, "failed": 2, "refused": 0, "waiting": 0, "held": 0}
    reasons = {p["amazon_order_id"]: p["reason"] for p in summary["problems"]}
    assert "503 ServiceUnavailable" in reasons[err] and "504 GatewayTimeout" in reasons[slow]
    for oid in (err, slow):
        [row] = pushes(sync_env, oid)
        assert (row["status"], row["attempts"]) == ("failed", 1) and row["confirmed_at"] is None
        assert confirmations(sync_env, oid) == [] and amazon_status(sync_env, oid) == "UNSHIPPED"
        assert channel_status(sync_env, oid) == "Unshipped" and tracking_comments(commerce, oid) == []
    # The lost response was re-sent within the run with the same packageReferenceId: an edit, one package.
    assert len({c["body"]["packageDetail"]["packageReferenceId"] for c in confirmations(sync_env, lost)}) == 1
    [package] = amazon_order(sync_env, lost)["packages"]
    assert [e["quantity"] for e in package["packageItems"]] == [2] and amazon_status(sync_env, lost) == "SHIPPED"
    assert pushes(sync_env, lost)[0]["status"] == "confirmed"

    sync_env.sandbox.spapi("PUT", "/_sandbox/faults", json={}).raise_for_status()
    lost_before = len(confirmations(sync_env, lost))
    summary, _ = push(sync_env)
    assert summary["packages"] == {"sent": 2, "confirmed": 2, "failed": 0, "refused": 0, "waiting": 0, "held": 0}
    assert sorted(summary["orders_completed_ids"]) == sorted([err, slow])
    for oid in (err, slow):
        assert len(confirmations(sync_env, oid)) == 1 and amazon_status(sync_env, oid) == "SHIPPED"
        [row] = pushes(sync_env, oid)
        assert (row["status"], row["attempts"], row["last_error"]) == ("confirmed", 2, None)
        assert channel_status(sync_env, oid) == "Shipped" and commerce_order(commerce, oid)["state"] == "complete"
    assert len(confirmations(sync_env, lost)) == lost_before

    summary, _ = push(sync_env)
    assert summary["packages"]["sent"] == 0 and len(confirmations(sync_env)) == lost_before + 2
    assert [n for n in commerce_notifications(sync_env) if n["type"] in ("shipment", "order_comment", "invoice")] == []


def test_refused_packages_go_again_only_when_asked_for_those_orders(sync_env, commerce):
    """A package Amazon refused stays refused on later pushes, even for its order's ids; ``resend_refused`` with the
    ids (the orders page's "Re-push") sends it again, and once Amazon takes it, it is confirmed."""
    oid, other = "111-3100001-0000001", "111-3100002-0000001"
    put_orders(sync_env, mfn(oid, ao.line("MUG-001", unit="12.50")), mfn(other, ao.line("TEE-002", unit="19.99")))
    sync(sync_env)
    for n, order_id in enumerate((oid, other)):
        ship(commerce, order_id, [("ups", "UPS Ground", f"1Z00000000000031{n}1")])
        sync_env.sandbox.spapi(
            "POST", f"/_sandbox/orders/{order_id}/status", json={"status": "CANCELLED"}
        ).raise_for_status()
    summary, _ = push(sync_env)
    assert summary["packages"]["refused"] == 2 and confirmations(sync_env) == []

    # The order is fixed on Amazon; pushes without the switch leave the refusal alone, with the ids or without.
    sync_env.sandbox.spapi("POST", f"/_sandbox/orders/{oid}/status", json={"status": "UNSHIPPED"}).raise_for_status()
    for conf in ({}, {"amazon_order_ids": [oid]}):
        summary, states = push(sync_env, **conf)
        assert states["amazon_confirmations.confirm_packages"] == "skipped", conf
    assert [row["status"] for row in pushes(sync_env, oid)] == ["refused"]

    summary, _ = push(sync_env, amazon_order_ids=[oid], resend_refused=True)
    assert summary["packages"] == {"sent": 1, "confirmed": 1, "failed": 0, "refused": 0, "waiting": 0, "held": 0}
    [row] = pushes(sync_env, oid)
    assert (row["status"], row["attempts"], row["last_error"]) == ("confirmed", 2, None)
    assert amazon_status(sync_env, oid) == "SHIPPED" and len(confirmations(sync_env, oid)) == 1
    assert [row["status"] for row in pushes(sync_env, other)] == ["refused"]  # not asked for: untouched


def test_a_commerce_outage_while_completing_is_retried_and_comments_once(sync_env, commerce):
    """Amazon confirmed, but Commerce fails while closing the order: recorded, retried next run, one comment."""
    oid = "111-3100001-0000001"
    put_orders(sync_env, mfn(oid, ao.line("CBL-001", unit="12.24")))
    sync(sync_env)
    ship(commerce, oid, [("fedex", "FedEx", "794600000077")])
    commerce_patience(sync_env, max_retries=1, backoff=0.05, settle_delay=0)
    rule = {"kind": "503", "method": "POST", "path": r"/V1/orders/\d+/comments", "count": 20}
    sync_env.sandbox.commerce("PUT", "/_sandbox/faults", json={"rules": [rule]}).raise_for_status()
    summary, _ = push(sync_env)
    assert summary["packages"]["confirmed"] == 1 and summary["orders_completed"] == 0
    [problem] = summary["completion_problems"]
    assert problem["status"] == "failed" and "503" in problem["reason"]
    assert summary["channel_totals"]["orders_awaiting_completion"] == 1

    sync_env.sandbox.commerce("PUT", "/_sandbox/faults", json={}).raise_for_status()
    summary, states = push(sync_env)
    assert states["amazon_confirmations.confirm_packages"] == "skipped"  # nothing to send, only to complete
    assert summary["orders_completed_ids"] == [oid] and len(tracking_comments(commerce, oid)) == 1
    assert len(confirmations(sync_env, oid)) == 1
    [row] = channel(
        sync_env, "SELECT status, attempts FROM channel_order_completion WHERE amazon_order_id = :id", id=oid
    )
    assert (row["status"], row["attempts"]) == ("completed", 2)


def test_demo_warehouse_ships_a_share_and_the_push_confirms_every_package(sync_env):
    """scripts/ship_some_orders.py over generated history, then the push: both sides agree for every order."""
    generated = sync_env.sandbox.spapi("POST", "/_sandbox/orders/generate", json={"count": 30, "hours": 6, "seed": 11})
    generated.raise_for_status()
    assert succeeded(sync_env.run_sync(window_start=ao.iso(NOW - timedelta(hours=7))))
    script = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "ship_some_orders.py"), "--share", "0.5", "--seed", "3"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}, timeout=120,
    )  # fmt: skip
    assert script.returncode == 0, script.stderr
    shipped = json.loads(script.stdout)
    assert shipped["shipped"] > 0 and all(shipped["by_kind"].values()), shipped

    summary, _ = push(sync_env)
    assert summary["packages"]["confirmed"] == shipped["packages"] and summary["problems"] == []
    rows = channel(
        sync_env,
        "SELECT o.amazon_order_id, o.channel_status, o.commerce_order_id FROM channel_order o "
        "WHERE EXISTS (SELECT 1 FROM channel_shipment_push p WHERE p.amazon_order_id = o.amazon_order_id)",
    )
    assert len(rows) == shipped["shipped"]
    with CommerceClient(
        sync_env.sandbox.commerce_url,
        username=credentials.COMMERCE_ADMIN_USER,
        password=credentials.COMMERCE_ADMIN_PASSWORD,
    ) as client:
        for row in rows:
            amazon = amazon_status(sync_env, row["amazon_order_id"])
            state = client.get_order(row["commerce_order_id"])["state"]
            expected = {"Shipped": ("SHIPPED", "complete"), "PartiallyShipped": ("PARTIALLY_SHIPPED", "processing")}
            assert (amazon, state) == expected[row["channel_status"]], row
    assert summary["orders_partially_shipped"] == shipped["by_kind"]["partial"]
    assert summary["orders_completed"] == shipped["by_kind"]["full"] + shipped["by_kind"]["two_packages"]
    assert [n for n in commerce_notifications(sync_env) if n["type"] in ("shipment", "order_comment", "invoice")] == []


# ----------------------------------------------------------------------------------------------------------- channel tables


TS = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def engine(channel_engine):
    """A fresh channel database on each supported dialect."""
    return channel_engine


def staged_order(
    engine, amazon_id: str, *lines: tuple[str, int], commerce_id: int, fulfilled_by="MERCHANT"
) -> list[str]:
    """Stage an imported order; returns its Amazon order item ids."""
    from include.domain.staging import flatten

    items = [ao.line(sku, qty=qty, unit="10.00") for sku, qty in lines]
    order = ao.order(*items, order_id=amazon_id, fulfilled_by=fulfilled_by, status="UNSHIPPED" if fulfilled_by == "MERCHANT" else "SHIPPED",
                     created=TS, last_updated=TS + timedelta(minutes=5))  # fmt: skip
    db.upsert_staged(
        engine, *flatten([order]), importable=IMPORTABLE_STATUSES, cipher=CIPHER, now=TS + timedelta(minutes=6)
    )
    db.record_imported(engine, amazon_id, commerce_id, f"0000{commerce_id}")
    return [i["orderItemId"] for i in items]


def package(amazon_id, shipment, track, items, *, number="1Z1", status="pending", reason=None) -> Package:
    return Package(
        amazon_order_id=amazon_id, marketplace_id="ATVPDKIKX0DER", package_reference_id=package_reference_id(shipment, track),
        commerce_order_id=500, commerce_shipment_id=shipment, commerce_track_id=track, carrier_code="UPS",
        carrier_name=None, shipping_method="UPS Ground", tracking_number=number,
        ship_date=TS + timedelta(hours=1), items=tuple(items), status=status, last_error=reason,
    )  # fmt: skip


def channel_row(engine, sql: str, **params) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text(sql), params).mappings().one())


def test_tracking_state_on_every_database(engine):
    a, b = "111-4000001-0000001", "111-4000002-0000001"
    a_items = staged_order(engine, a, ("MUG-001", 3), ("TEE-002", 1), commerce_id=500)
    staged_order(engine, b, ("CAP-001", 1), commerce_id=501, fulfilled_by="AMAZON")
    db.upgrade(engine)  # idempotent

    found = db.tracking_orders_by_commerce_id(engine, [500, 501, 999])
    assert sorted(found) == [500, 501] and found[501].fulfilled_by == "AMAZON"
    assert found[500].amazon_order_id == a and found[500].created_at == TS
    assert [o.amazon_order_id for o in db.tracking_orders_by_amazon_id(engine, [a, "111-9999999-9999999"])] == [a]
    assert db.oldest_imported_mfn_order(engine) == TS

    db.set_commerce_item_ids(engine, [(a, a_items[0], 71), (a, a_items[1], 72)])
    items = db.tracking_items(engine, [a])[a]
    assert {(i.order_item_id, i.commerce_order_item_id, i.quantity_ordered) for i in items} == {
        (a_items[0], 71, 3), (a_items[1], 72, 1),
    }  # fmt: skip

    # Shipment 9 sorts before shipment 10 (numeric, not text order); a second insert of a known package is ignored.
    first = package(a, 10, 3, [(a_items[0], 2)])
    early = package(a, 9, 8, [(a_items[1], 1)], number="1Z0")
    db.save_shipment_pushes(engine, [first, early], [])
    db.save_shipment_pushes(engine, [replace(first, tracking_number="IGNORED")], [])
    todo = db.pushes_to_send(engine)
    assert [p.package_reference_id for p in todo] == [early.package_reference_id, first.package_reference_id]
    assert todo[1].tracking_number == "1Z1" and todo[1].marketplace_id == "ATVPDKIKX0DER"
    assert todo[1].ship_date == TS + timedelta(hours=1) and todo[1].items == ((a_items[0], 2),)
    assert db.pushes_to_send(engine, only_ids=[b]) == [] and db.pushes_to_send(engine, only_ids=[]) == []

    db.record_push_result(engine, a, early.package_reference_id, "failed", error="HTTP 503")
    db.record_push_result(engine, a, first.package_reference_id, "confirmed")
    db.refresh_confirmed_quantities(engine, [a])
    assert {i.order_item_id: i.quantity_confirmed for i in db.tracking_items(engine, [a])[a]} == {
        a_items[0]: 2,
        a_items[1]: 0,
    }
    assert channel_row(engine, "SELECT channel_status FROM channel_order WHERE amazon_order_id = :id", id=a) == {
        "channel_status": "PartiallyShipped"
    }
    assert [p.package_reference_id for p in db.pushes_to_send(engine)] == [early.package_reference_id]
    assert db.orders_to_complete(engine) == []

    # A confirmed package edited in Commerce goes back to pending, keeping its attempt count.
    db.save_shipment_pushes(engine, [], [replace(first, tracking_number="1Z9", items=((a_items[0], 3),))])
    edited = channel_row(engine, "SELECT status, attempts, tracking_number, confirmed_at FROM channel_shipment_push "
                                 "WHERE package_reference_id = :r", r=first.package_reference_id)  # fmt: skip
    assert (edited["status"], edited["attempts"], edited["tracking_number"]) == ("pending", 1, "1Z9")
    assert edited["confirmed_at"] is not None
    db.record_push_result(engine, a, first.package_reference_id, "confirmed")
    db.record_push_result(engine, a, early.package_reference_id, "confirmed")
    db.refresh_confirmed_quantities(engine, [a])
    db.refresh_confirmed_quantities(engine, [a])  # idempotent: quantities are set, not added
    assert {i.order_item_id: i.quantity_confirmed for i in db.tracking_items(engine, [a])[a]} == {
        a_items[0]: 3,
        a_items[1]: 1,
    }
    assert (
        channel_row(engine, "SELECT channel_status FROM channel_order WHERE amazon_order_id = :id", id=a)[
            "channel_status"
        ]
        == "Shipped"
    )
    [pushed] = [p for p in db.shipment_pushes(engine, [a]) if p.package_reference_id == early.package_reference_id]
    assert (pushed.status, pushed.attempts, pushed.last_error) == ("confirmed", 2, None)

    [todo_order] = db.orders_to_complete(engine)
    assert (todo_order.amazon_order_id, todo_order.commerce_order_id) == (a, 500)
    db.record_completion(engine, a, 500, "failed", error="Commerce refused: HTTP 503")
    assert [p["status"] for p in db.completion_problems(engine)] == ["failed"]
    assert len(db.orders_to_complete(engine, only_ids=[a])) == 1
    db.record_completion(engine, a, 500, "completed")
    assert db.orders_to_complete(engine) == [] and db.completion_problems(engine) == []
    done = channel_row(engine, "SELECT status, attempts, last_error, completed_at FROM channel_order_completion")
    assert (done["status"], done["attempts"], done["last_error"]) == ("completed", 2, None) and done["completed_at"]

    # Refusals and skipped packages are reported with their reasons and never sent again.
    refused = package(a, 11, 4, [(a_items[0], 1)], number="1Z4")
    skipped = package(a, 11, 5, [], number="1Z5", status="skipped", reason="no unit is left for this one")
    db.save_shipment_pushes(engine, [refused, skipped], [])
    db.record_push_result(engine, a, refused.package_reference_id, "refused", error="HTTP 400 InvalidInput: cancelled")
    assert db.pushes_to_send(engine) == []
    assert db.push_counts(engine) == {"confirmed": 2, "refused": 1, "skipped": 1}
    problems = {p["status"]: p for p in db.push_problems(engine)}
    assert problems["refused"]["last_error"].endswith("cancelled") and problems["refused"]["attempts"] == 1
    assert problems["skipped"]["last_error"] == "no unit is left for this one"
    with pytest.raises(LookupError):
        db.record_push_result(engine, a, "12345678901", "confirmed")
    with pytest.raises(ValueError):
        db.record_push_result(engine, a, refused.package_reference_id, "pending")

    # A package of a held Commerce order: recorded as held with the reason, no attempt counted, still to send.
    held = package(a, 11, 6, [(a_items[0], 1)], number="1Z6")
    db.save_shipment_pushes(engine, [held], [])
    db.record_push_held(engine, a, held.package_reference_id, "not sent: the Commerce order is on hold")
    [waiting] = db.pushes_to_send(engine)
    assert (waiting.package_reference_id, waiting.status, waiting.attempts) == (held.package_reference_id, "held", 0)
    assert {p["status"]: p["last_error"] for p in db.push_problems(engine)}["held"].endswith("is on hold")
    db.record_push_result(engine, a, held.package_reference_id, "confirmed")  # released: sent and confirmed
    assert db.pushes_to_send(engine) == [] and "held" not in db.push_counts(engine)
    with pytest.raises(LookupError):
        db.record_push_held(engine, a, "12345678901", "on hold")
