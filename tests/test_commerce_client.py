"""The Commerce client and hook against the real Commerce sandbox over HTTP.

Every client call runs against the sandbox on SQLite (the shared ``sandbox``
fixture); the create/look-up/fault subset runs again on MariaDB. Duplicates are
counted in the sandbox's own database, not through the client under test.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from include.adapters.hooks.commerce_api import CommerceHook, base_url
from include.clients.commerce import (
    CommerceAuthError,
    CommerceClient,
    CommerceClientError,
    CommerceNotFound,
    CommerceOutcomeUnknown,
    CommerceUnavailable,
    Filter,
    SearchCriteria,
)
from sandbox import credentials
from tests.conftest import Sandbox, start_sandbox

PRODUCT_MISSING = "The product that was requested doesn't exist. Verify the product and try again."
FAULT_KINDS = ["500", "503", "timeout", "lost_response"]


# ---------------------------------------------------------------- helpers


def make_client(box: Sandbox, **kwargs: Any) -> CommerceClient:
    options: dict[str, Any] = {
        "username": credentials.COMMERCE_ADMIN_USER,
        "password": credentials.COMMERCE_ADMIN_PASSWORD,
        "timeout": 5.0,
        "max_retries": 3,
        "backoff": 0.01,
        "settle_delay": 0.1,
    }
    options.update(kwargs)
    if "token" in kwargs:
        options.pop("username"), options.pop("password")
    return CommerceClient(box.commerce_url, **options)


@pytest.fixture
def client(sandbox: Sandbox):
    with make_client(sandbox) as c:
        yield c


def set_faults(box: Sandbox, *rules: dict[str, Any], **config: Any) -> None:
    box.commerce("PUT", "/_sandbox/faults", json={"seed": 7, "rules": list(rules), **config}).raise_for_status()


@cache
def _engine(url: str):
    return create_engine(url)


def db_scalar(box: Sandbox, sql: str, **params: Any) -> Any:
    """Read the sandbox's database directly (the source of truth for duplicates)."""
    with _engine(box.commerce_db).connect() as conn:
        return conn.execute(text(sql), params).scalar()


def notifications(box: Sandbox) -> list[dict[str, Any]]:
    response = box.commerce("GET", "/_sandbox/notifications")
    response.raise_for_status()
    return response.json()


def order_entity(ext_order_id: str, *, lines: tuple[tuple[str, float], ...] = (("MUG-001", 2),), store_id: int = 1,
                 increment_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    items = [
        {"sku": sku, "name": sku, "qty_ordered": qty, "price": 10.0, "base_price": 10.0, "row_total": 10.0 * qty,
         "base_row_total": 10.0 * qty, "product_type": "simple"}
        for sku, qty in lines
    ]  # fmt: skip
    total = sum(i["row_total"] for i in items)
    address = {
        "address_type": "billing", "firstname": "Test", "lastname": "Buyer", "street": ["1 Main St"],
        "city": "Seattle", "region": "WA", "postcode": "98101", "country_id": "US", "telephone": "0000000000",
        "email": "buyer@example.com",
    }  # fmt: skip
    entity = {
        "ext_order_id": ext_order_id, "store_id": store_id, "customer_email": "buyer@example.com",
        "customer_firstname": "Test", "customer_lastname": "Buyer", "customer_is_guest": 1,
        "subtotal": total, "base_subtotal": total, "grand_total": total, "base_grand_total": total,
        "items": items, "billing_address": address, "payment": {"method": "checkmo"},
    }  # fmt: skip
    if increment_id:
        entity["increment_id"] = increment_id
    return entity


def customer(email: str) -> dict[str, Any]:
    return {"email": email, "firstname": "Test", "lastname": "Buyer", "website_id": 1}


def order_state(box: Sandbox, order_id: int) -> str:
    return db_scalar(box, "SELECT state FROM sales_order WHERE entity_id = :id", id=order_id)


# ---------------------------------------------------------------- auth


def test_admin_token_is_fetched_once_and_shared_by_threads(sandbox, client):
    client.search_orders(SearchCriteria().page(1))
    client.map_concurrent(lambda _: client.search_customers(SearchCriteria().page(1)), range(8), concurrency=4)
    client.get_order_comments(999_999)  # an empty list, still authenticated
    assert client.stats.token_fetches == 1
    assert client.stats.token_refreshes == 0


def test_expired_admin_token_is_refreshed_once_on_401(sandbox, client):
    client.search_orders(SearchCriteria().page(1))
    sandbox.commerce("PUT", "/_sandbox/clock", json={"offset_s": 4 * 3600 + 1}).raise_for_status()  # token now 4 h old
    created = client.create_order(order_entity("REFRESH-1"))  # a write: a 401 means it never ran, so it is re-sent
    assert client.stats.token_fetches == 2 and client.stats.token_refreshes == 1
    assert client.stats.ambiguous == 0
    assert db_scalar(sandbox, "SELECT COUNT(*) FROM sales_order WHERE ext_order_id = 'REFRESH-1'") == 1
    assert client.get_order(created["entity_id"])["ext_order_id"] == "REFRESH-1"
    assert client.stats.token_fetches == 2


def test_wrong_admin_password_raises_magento_message_without_retrying(sandbox):
    with make_client(sandbox, password="not-the-password") as c, pytest.raises(CommerceAuthError) as caught:
        c.search_orders(None)
    assert caught.value.status == 401
    assert caught.value.message.startswith("The account sign-in was incorrect")
    assert c.stats.retries == 0 and c.stats.requests == 1


def test_integration_token_is_used_as_given(sandbox):
    with make_client(sandbox, token=credentials.COMMERCE_INTEGRATION_TOKEN) as c:
        assert c.search_orders(None)["total_count"] == 0
        assert c.stats.token_fetches == 0
    with make_client(sandbox, token="revoked-token") as c, pytest.raises(CommerceAuthError) as caught:
        c.search_orders(None)
    assert caught.value.message == "The consumer isn't authorized to access Magento_Sales::actions_view."
    assert c.stats.token_refreshes == 0 and c.stats.requests == 1


def test_store_code_routes_and_unknown_store(sandbox):
    with make_client(sandbox, store_code="amazon_ca") as c:
        created = c.create_customer({"email": "ca@example.com", "firstname": "Test", "lastname": "Buyer"})
    assert (created["website_id"], created["store_id"]) == (2, 2)  # taken from the store view of the route
    with make_client(sandbox) as c:  # store_code names the route of one call: a store view with e-mails off
        quiet = {"email": "quiet@example.com", "firstname": "Test", "lastname": "Buyer", "website_id": 1, "store_id": 4}
        assert c.create_customer(quiet, store_code="amazon_customers")["store_id"] == 4
        views = {v["code"]: v for v in c.store_views()}
        assert (views["amazon_customers"]["id"], views["amazon_customers"]["website_id"]) == (4, 1)
        assert {w["code"] for w in c.websites()} == {"admin", "base", "ca", "mx"}
        assert [(s["code"], s["base_currency_code"]) for s in c.store_configs(["amazon_mx"])] == [("amazon_mx", "MXN")]
    assert notifications(sandbox) == []  # amazon_ca's e-mails are off too
    with make_client(sandbox, store_code="nowhere") as c, pytest.raises(CommerceNotFound) as caught:
        c.search_orders(None)
    assert caught.value.message == "Request does not match any route."


# ---------------------------------------------------------------- customers


def test_customers_create_find_search_and_duplicate(sandbox, client):
    first = client.create_customer(customer("one@example.com"), password="Sandbox-pass-123")
    client.create_customer(customer("two@example.com"))
    assert client.find_customer("one@example.com", 1)["id"] == first["id"]
    assert client.find_customer("one@example.com", None)["id"] == first["id"]
    assert client.find_customer("nobody@example.com", 1) is None
    found = client.search_customers(
        SearchCriteria()
        .where_any(Filter("email", "one@example.com"), Filter("email", "two@example.com"))
        .sort("email", "DESC")
    )
    assert found["total_count"] == 2 and [c["email"] for c in found["items"]] == ["two@example.com", "one@example.com"]
    assert found["search_criteria"]["filter_groups"][0]["filters"][1]["value"] == "two@example.com"
    with pytest.raises(CommerceClientError) as caught:
        client.create_customer(customer("one@example.com"))
    assert caught.value.status == 400
    assert caught.value.message == "A customer with the same email address already exists in an associated website."
    with pytest.raises(CommerceClientError) as caught:
        client.create_customer({"email": "x@example.com", "firstname": "Test", "lastname": "Buyer"}, password="short")
    assert caught.value.message == "The password needs at least 8 characters. Create a new password and try again."
    assert db_scalar(sandbox, "SELECT COUNT(*) FROM customer_entity") == 2
    assert [n["type"] for n in notifications(sandbox)] == ["new_account", "new_account"]


# ---------------------------------------------------------------- orders, invoices, shipments, credit memos


def test_order_lifecycle_invoice_ship_track_without_notifications(sandbox, client):
    order = client.create_order(order_entity("114-0000001-0000001", lines=(("MUG-001", 2), ("TEE-002", 1))))
    oid = order["entity_id"]
    assert order["ext_order_id"] == "114-0000001-0000001" and order["increment_id"]
    assert client.get_order(oid)["items"][0]["sku"] == "MUG-001"
    assert [o["entity_id"] for o in client.find_orders_by_ext_order_id("114-0000001-0000001")] == [oid]
    assert client.find_orders_by_ext_order_id("114-missing") == []
    assert client.get_order_status(oid) == "pending"

    assert client.add_order_comment(oid, "Imported from Amazon.") is True
    assert client.add_order_comment(oid, "Status kept.", status="pending") is True
    comments = client.get_order_comments(oid)
    assert {"Imported from Amazon.", "Status kept."} <= {c["comment"] for c in comments["items"]}

    invoice_id = client.invoice_order(oid, comment="Paid on Amazon.")
    assert isinstance(invoice_id, int) and invoice_id > 0
    assert client.get_order(oid)["state"] == "processing"

    mug, tee = (i["item_id"] for i in client.get_order(oid)["items"])
    first = client.ship_order(oid, items=[{"order_item_id": mug, "qty": 2}],
                              tracks=[{"track_number": "1Z001", "carrier_code": "ups", "title": "UPS"}])  # fmt: skip
    assert client.get_order(oid)["state"] == "processing"  # partially shipped
    second = client.ship_order(oid, items=[{"order_item_id": tee, "qty": 1}])
    assert client.get_order_status(oid) == "complete"

    shipment = client.get_shipment(first)
    assert shipment["order_id"] == oid and [t["track_number"] for t in shipment["tracks"]] == ["1Z001"]
    track = client.add_shipment_track(
        {"parent_id": second, "order_id": oid, "track_number": "1Z002", "carrier_code": "ups", "title": "UPS"}
    )
    assert track["entity_id"] and track["parent_id"] == second
    updated = client.add_shipment_track({**track, "track_number": "1Z002-B"})  # an update, retried like a read
    assert updated["entity_id"] == track["entity_id"] and updated["track_number"] == "1Z002-B"
    shipments = client.search_shipments(SearchCriteria().where("order_id", oid))
    assert shipments["total_count"] == 2 and [s["entity_id"] for s in shipments["items"]] == [first, second]
    assert [s["entity_id"] for s in client.iter_shipments(SearchCriteria().where("order_id", oid), page_size=1)] == [
        first,
        second,
    ]
    assert notifications(sandbox) == []  # notify=False everywhere: Commerce e-mailed nobody


def test_invoice_and_refund_partially_then_close(sandbox, client):
    order = client.create_order(order_entity("114-REFUND", lines=(("MUG-001", 2), ("TEE-002", 1))))
    oid = order["entity_id"]
    mug, tee = (i["item_id"] for i in order["items"])
    client.invoice_order(oid, items=[{"order_item_id": mug, "qty": 2}])
    client.invoice_order(oid, items=[{"order_item_id": tee, "qty": 1}])
    memo = client.refund_order(oid, items=[{"order_item_id": mug, "qty": 1}], shipping_amount=0)
    assert isinstance(memo, int) and client.get_order(oid)["state"] == "processing"
    client.refund_order(oid, items=[{"order_item_id": mug, "qty": 1}, {"order_item_id": tee, "qty": 1}])
    after = client.get_order(oid)
    assert after["state"] == "closed" and after["total_refunded"] == pytest.approx(30.0)
    with pytest.raises(CommerceClientError) as caught:
        client.refund_order(oid)
    assert (
        caught.value.message
        == "Creditmemo Document Validation Error(s):\nA creditmemo can not be created when an order has a status of closed"
    )
    assert db_scalar(sandbox, "SELECT COUNT(*) FROM sales_creditmemo WHERE order_id = :id", id=oid) == 2


def test_hold_and_unhold_follow_magentos_rules(sandbox, client):
    oid = client.create_order(order_entity("114-HOLD"))["entity_id"]
    client.invoice_order(oid)
    assert client.hold_order(oid) is True and client.get_order(oid)["state"] == "holded"
    with pytest.raises(CommerceClientError, match="A hold action is not available"):
        client.hold_order(oid)
    assert client.cancel_order(oid) is False  # Magento cancels no held order
    assert client.unhold_order(oid) is True and client.get_order(oid)["state"] == "processing"
    with pytest.raises(CommerceClientError, match="You cannot remove the hold"):
        client.unhold_order(oid)


def test_cancel_only_what_magento_can_cancel(sandbox, client):
    oid = client.create_order(order_entity("114-CANCEL"))["entity_id"]
    assert client.cancel_order(oid) is True
    assert client.get_order_status(oid) == "canceled"
    assert client.cancel_order(oid) is False  # Magento's answer for an order it cannot cancel
    invoiced = client.create_order(order_entity("114-INVOICED"))["entity_id"]
    client.invoice_order(invoiced)
    assert client.cancel_order(invoiced) is False
    assert client.get_order(invoiced)["state"] == "processing"


def test_unknown_sku_is_a_4xx_with_magentos_message_and_no_retry(sandbox, client):
    with pytest.raises(CommerceClientError) as caught:
        client.create_order(order_entity("114-UNKNOWN", lines=(("MUG-001", 1), ("LMP-006", 1))))
    assert caught.value.status == 400 and caught.value.message == PRODUCT_MISSING
    assert str(caught.value) == f"{PRODUCT_MISSING} (HTTP 400, PUT /V1/orders/create)"
    assert client.stats.retries == 0 and client.stats.ambiguous == 0
    assert db_scalar(sandbox, "SELECT COUNT(*) FROM sales_order") == 0


def test_missing_order_is_not_found(sandbox, client):
    with pytest.raises(CommerceNotFound) as caught:
        client.get_order(424242)
    assert caught.value.message == "The entity that was requested doesn't exist. Verify the entity and try again."
    assert client.stats.retries == 0


def test_search_sort_page_and_iterate_orders(sandbox, client):
    ids = [client.create_order(order_entity(f"114-PAGE-{n}", store_id=1 + n % 2))["entity_id"] for n in range(5)]
    page = client.search_orders(SearchCriteria().where("store_id", 2).sort("entity_id", "DESC").page(1, 1))
    assert page["total_count"] == 2 and [o["entity_id"] for o in page["items"]] == [ids[3]]
    assert page["search_criteria"]["page_size"] == 1
    in_list = client.search_orders(SearchCriteria().where("ext_order_id", ["114-PAGE-0", "114-PAGE-4"], "in"))
    assert sorted(o["entity_id"] for o in in_list["items"]) == [ids[0], ids[4]]
    assert [o["entity_id"] for o in client.iter_orders(page_size=2)] == ids  # keyset paging
    newest_first = client.iter_orders(SearchCriteria().sort("entity_id", "DESC"), page_size=2)
    assert [o["entity_id"] for o in newest_first] == ids[::-1]  # currentPage paging
    like = SearchCriteria().where("ext_order_id", "114-PAGE-%", "like").where("entity_id", ids[1], "gt")
    assert [o["entity_id"] for o in client.iter_orders(like, page_size=10)] == ids[2:]


def test_ensure_order_returns_the_existing_order(sandbox, client):
    first, created = client.ensure_order(order_entity("114-ENSURE"))
    again, created_again = client.ensure_order(order_entity("114-ENSURE"))
    assert (created, created_again) == (True, False) and again["entity_id"] == first["entity_id"]
    assert db_scalar(sandbox, "SELECT COUNT(*) FROM sales_order WHERE ext_order_id = '114-ENSURE'") == 1


# ---------------------------------------------------------------- retries of reads


def test_reads_retry_5xx_429_timeouts_and_dropped_responses(sandbox):
    with make_client(sandbox, timeout=0.75, max_retries=5) as c:
        c.search_orders(None)  # token first, so only the search below meets the faults
        set_faults(
            sandbox,
            {"kind": "503", "count": 1, "method": "GET", "path": "/V1/orders$"},
            {"kind": "500", "count": 1, "method": "GET", "path": "/V1/orders$"},
            {"kind": "lost_response", "count": 1, "method": "GET", "path": "/V1/orders$"},
            {"kind": "timeout", "count": 1, "method": "GET", "path": "/V1/orders$", "delay_s": 2},
            {"kind": "429", "count": 1, "method": "GET", "path": "/V1/orders$"},
        )
        started = time.monotonic()
        assert c.search_orders(None)["total_count"] == 0
        assert c.stats.retries == 5
        assert time.monotonic() - started >= 1.0  # honoured 429's Retry-After: 1


def test_reads_give_up_with_commerce_unavailable(sandbox):
    with make_client(sandbox, max_retries=2) as c:
        c.search_orders(None)
        set_faults(sandbox, {"kind": "503", "method": "GET", "path": "/V1/orders/"})
        with pytest.raises(CommerceUnavailable) as caught:
            c.get_order(1)
    assert caught.value.status == 503
    assert caught.value.message == "Service Temporarily Unavailable (gave up after 3 attempts)"
    assert c.stats.retries == 2


def test_write_refused_with_429_is_sent_again_without_a_lookup(sandbox, client):
    client.search_orders(None)
    set_faults(sandbox, {"kind": "429", "count": 1, "method": "PUT", "path": "/V1/orders/create$"})
    client.create_order(order_entity("114-429"))
    assert (client.stats.retries, client.stats.ambiguous) == (1, 0)
    assert db_scalar(sandbox, "SELECT COUNT(*) FROM sales_order WHERE ext_order_id = '114-429'") == 1


# ---------------------------------------------------------------- writes under faults: no duplicates


@dataclass
class WriteCase:
    """A create/action, the request a fault hits, and how to prove it happened exactly once."""

    method: str
    path: str
    prepare: Callable[[CommerceClient], dict[str, Any]]
    act: Callable[[CommerceClient, dict[str, Any]], Any]
    verify: Callable[[Sandbox, dict[str, Any], Any, bool], None]


def _order(c: CommerceClient, ext: str = "114-FAULT") -> dict[str, Any]:
    return {"order_id": c.create_order(order_entity(ext))["entity_id"]}


def _invoiced(c: CommerceClient) -> dict[str, Any]:
    ctx = _order(c)
    c.invoice_order(ctx["order_id"])
    return ctx


def _shipped(c: CommerceClient) -> dict[str, Any]:
    ctx = _invoiced(c)
    ctx["shipment_id"] = c.ship_order(ctx["order_id"])
    return ctx


def _held(c: CommerceClient) -> dict[str, Any]:
    ctx = _invoiced(c)
    c.hold_order(ctx["order_id"])
    return ctx


def _verify_hold(box, ctx, result, lost):
    assert result is True and order_state(box, ctx["order_id"]) == "holded"
    held = db_scalar(box, "SELECT hold_before_state FROM sales_order WHERE entity_id = :id", id=ctx["order_id"])
    assert held == "processing"  # held once: a second hold would have been refused (400), not stacked


def _verify_unhold(box, ctx, result, lost):
    assert result is True and order_state(box, ctx["order_id"]) == "processing"


def _verify_order(box, ctx, result, lost):
    assert db_scalar(box, "SELECT COUNT(*) FROM sales_order WHERE ext_order_id = '114-FAULT'") == 1
    assert result["entity_id"] == db_scalar(box, "SELECT entity_id FROM sales_order WHERE ext_order_id = '114-FAULT'")


def _verify_customer(box, ctx, result, lost):
    assert db_scalar(box, "SELECT COUNT(*) FROM customer_entity WHERE email = 'fault@example.com'") == 1
    assert result["id"] == db_scalar(box, "SELECT entity_id FROM customer_entity WHERE email = 'fault@example.com'")
    assert [n["type"] for n in notifications(box)] == ["new_account"]


def _verify_invoice(box, ctx, result, lost):
    assert db_scalar(box, "SELECT COUNT(*) FROM sales_invoice WHERE order_id = :id", id=ctx["order_id"]) == 1
    invoice_id = db_scalar(box, "SELECT entity_id FROM sales_invoice WHERE order_id = :id", id=ctx["order_id"])
    assert result == invoice_id  # a lost response too: the invoice search finds the new one
    assert order_state(box, ctx["order_id"]) == "processing"


def _verify_ship(box, ctx, result, lost):
    assert db_scalar(box, "SELECT COUNT(*) FROM sales_shipment WHERE order_id = :id", id=ctx["order_id"]) == 1
    assert result == db_scalar(box, "SELECT entity_id FROM sales_shipment WHERE order_id = :id", id=ctx["order_id"])
    assert db_scalar(box, "SELECT COUNT(*) FROM sales_shipment_track WHERE order_id = :id", id=ctx["order_id"]) == 1
    assert order_state(box, ctx["order_id"]) == "complete"


def _verify_refund(box, ctx, result, lost):
    assert db_scalar(box, "SELECT COUNT(*) FROM sales_creditmemo WHERE order_id = :id", id=ctx["order_id"]) == 1
    memo_id = db_scalar(box, "SELECT entity_id FROM sales_creditmemo WHERE order_id = :id", id=ctx["order_id"])
    assert result == memo_id  # a lost response too: the credit memo search finds the new one
    assert order_state(box, ctx["order_id"]) == "closed"


def _verify_cancel(box, ctx, result, lost):
    assert result is True and order_state(box, ctx["order_id"]) == "canceled"
    sql = "SELECT COUNT(*) FROM sales_order_status_history WHERE parent_id = :id AND status = 'canceled'"
    assert db_scalar(box, sql, id=ctx["order_id"]) == 1


def _verify_comment(box, ctx, result, lost):
    assert result is True
    sql = "SELECT COUNT(*) FROM sales_order_status_history WHERE parent_id = :id AND comment = 'Synced from Amazon.'"
    assert db_scalar(box, sql, id=ctx["order_id"]) == 1


def _verify_track(box, ctx, result, lost):
    assert db_scalar(box, "SELECT COUNT(*) FROM sales_shipment_track WHERE track_number = '1Z-FAULT'") == 1
    assert result["entity_id"] == db_scalar(
        box, "SELECT entity_id FROM sales_shipment_track WHERE track_number = '1Z-FAULT'"
    )
    assert result["parent_id"] == ctx["shipment_id"]


WRITES: dict[str, WriteCase] = {
    "create_order": WriteCase("PUT", "/V1/orders/create$", lambda c: {},
                              lambda c, ctx: c.create_order(order_entity("114-FAULT")), _verify_order),
    "create_customer": WriteCase("POST", "/V1/customers$", lambda c: {},
                                 lambda c, ctx: c.create_customer(customer("fault@example.com")), _verify_customer),
    "invoice": WriteCase("POST", "/invoice$", _order, lambda c, ctx: c.invoice_order(ctx["order_id"]), _verify_invoice),
    "ship": WriteCase("POST", "/ship$", _invoiced,
                      lambda c, ctx: c.ship_order(ctx["order_id"], tracks=[{"track_number": "1Z-SHIP", "carrier_code": "ups"}]),
                      _verify_ship),
    "refund": WriteCase("POST", "/refund$", _invoiced, lambda c, ctx: c.refund_order(ctx["order_id"]), _verify_refund),
    "cancel": WriteCase("POST", "/cancel$", _order, lambda c, ctx: c.cancel_order(ctx["order_id"]), _verify_cancel),
    "hold": WriteCase("POST", "/hold$", _invoiced, lambda c, ctx: c.hold_order(ctx["order_id"]), _verify_hold),
    "unhold": WriteCase("POST", "/unhold$", _held, lambda c, ctx: c.unhold_order(ctx["order_id"]), _verify_unhold),
    "comment": WriteCase("POST", "/comments$", _order,
                         lambda c, ctx: c.add_order_comment(ctx["order_id"], "Synced from Amazon."), _verify_comment),
    "track": WriteCase("POST", "/V1/shipment/track$", _shipped,
                       lambda c, ctx: c.add_shipment_track({"parent_id": ctx["shipment_id"], "order_id": ctx["order_id"],
                                                            "track_number": "1Z-FAULT", "carrier_code": "ups", "title": "UPS"}),
                       _verify_track),
}  # fmt: skip


def run_write_under_fault(box: Sandbox, name: str, kind: str) -> None:
    case = WRITES[name]
    with make_client(box, timeout=0.75) as c:
        ctx = case.prepare(c)
        before = c.stats.as_dict()
        set_faults(box, {"kind": kind, "count": 1, "method": case.method, "path": case.path, "delay_s": 2})
        result = case.act(c, ctx)
        stats = {k: v - before[k] for k, v in c.stats.as_dict().items()}
    lost = kind == "lost_response"
    case.verify(box, ctx, result, lost)
    assert stats["ambiguous"] == 1
    # the response was lost after the commit: found by the look-up, never re-sent;
    # 5xx/timeout (nothing ran): the look-up proved it absent, so it was sent once more
    assert (stats["resolved_existing"], stats["resent"]) == ((1, 0) if lost else (0, 1))


@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.parametrize("name", list(WRITES))
def test_write_recovers_from_fault_without_duplicates(sandbox, name, kind):
    run_write_under_fault(sandbox, name, kind)


def test_lost_partial_invoices_and_refunds_resolve_to_each_new_documents_id(sandbox, client):
    """Lost responses on the second invoice and refund of an order: the look-up tells the new document from the
    ones before it; the order the caller passes spares the invoice listing while nothing is invoiced."""
    order = client.create_order(order_entity("114-LOST-DOCS", lines=(("MUG-001", 2), ("TEE-002", 1))))
    oid = order["entity_id"]
    mug, tee = ({"order_item_id": i["item_id"], "qty": i["qty_ordered"]} for i in order["items"])

    def lost(path: str) -> None:
        set_faults(sandbox, {"kind": "lost_response", "count": 1, "method": "POST", "path": path})

    def ids(table: str) -> list[int]:
        with _engine(sandbox.commerce_db).connect() as conn:
            sql = f"SELECT entity_id FROM {table} WHERE order_id = :id ORDER BY entity_id"  # table: a literal below
            return [row[0] for row in conn.execute(text(sql), {"id": oid})]

    requests = client.stats.requests
    lost("/invoice$")
    first = client.invoice_order(oid, items=[mug], order=order)
    assert client.stats.requests - requests == 2  # the invoice and the look-up; no listing before it
    lost("/invoice$")
    second = client.invoice_order(oid, items=[tee])
    assert [first, second] == ids("sales_invoice")
    lost("/refund$")
    memo = client.refund_order(oid, items=[{**mug, "qty": 1}], shipping_amount=0)
    lost("/refund$")
    rest = client.refund_order(oid)
    assert [memo, rest] == ids("sales_creditmemo")
    assert order_state(sandbox, oid) == "closed"
    assert (client.stats.ambiguous, client.stats.resolved_existing, client.stats.resent) == (4, 4, 0)


def test_lost_response_with_failing_lookup_is_outcome_unknown_and_not_resent(sandbox, client):
    client.search_orders(None)
    set_faults(
        sandbox,
        {"kind": "lost_response", "count": 1, "method": "PUT", "path": "/V1/orders/create$"},
        {"kind": "503", "method": "GET", "path": "/V1/orders$"},
    )
    with pytest.raises(CommerceOutcomeUnknown):
        client.create_order(order_entity("114-UNKNOWN-OUTCOME"))
    assert client.stats.resent == 0
    set_faults(sandbox)
    assert len(client.find_orders_by_ext_order_id("114-UNKNOWN-OUTCOME")) == 1  # the next run's look-up heals it


def test_write_that_keeps_failing_is_unavailable_and_created_nothing(sandbox):
    with make_client(sandbox, max_retries=2) as c:
        set_faults(sandbox, {"kind": "503", "method": "PUT", "path": "/V1/orders/create$"})
        with pytest.raises(CommerceUnavailable) as caught:
            c.create_order(order_entity("114-DOWN"))
    assert "did not take effect after 3 attempts" in caught.value.message
    assert (c.stats.ambiguous, c.stats.resent) == (3, 2)
    assert db_scalar(sandbox, "SELECT COUNT(*) FROM sales_order") == 0


def test_duplicate_increment_id_is_magentos_unique_rule(sandbox, client):
    client.create_order(order_entity("114-INC-A", increment_id="AMZ-100"))
    with pytest.raises(CommerceClientError) as caught:
        client.create_order(order_entity("114-INC-B", increment_id="AMZ-100"))
    assert caught.value.message == "Unique constraint violation found"
    client.create_order(order_entity("114-INC-C", increment_id="AMZ-100", store_id=2))  # unique per store only


# ---------------------------------------------------------------- bounded concurrency


def test_map_concurrent_keeps_the_bound_and_returns_exceptions_in_order(sandbox, client):
    client.search_orders(None)  # token outside the measurement
    set_faults(sandbox, latency_ms=150)
    lock, in_flight, peak = threading.Lock(), [0], [0]

    def create(n: int) -> dict[str, Any]:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        try:
            if n == 5:
                raise ValueError("bad input for item 5")
            sku = "LMP-006" if n in (3, 9) else "MUG-001"  # unknown SKU: a 400 for those two
            return client.create_order(order_entity(f"114-BATCH-{n}", lines=((sku, 1),)))
        finally:
            with lock:
                in_flight[0] -= 1

    started = time.monotonic()
    results = client.map_concurrent(create, range(12), concurrency=4)
    elapsed = time.monotonic() - started
    assert peak[0] == 4 and client.pool_size >= 4
    assert elapsed >= 3 * 0.15 and elapsed < 12 * 0.15  # three waves of four, not twelve in a row
    for n, result in enumerate(results):
        if n in (3, 9):
            assert isinstance(result, CommerceClientError) and result.message == PRODUCT_MISSING
        elif n == 5:
            assert isinstance(result, ValueError)
        else:
            assert result["ext_order_id"] == f"114-BATCH-{n}"
    assert db_scalar(sandbox, "SELECT COUNT(*) FROM sales_order") == 9
    assert client.map_concurrent(create, [], concurrency=2) == []
    with pytest.raises(ValueError):
        client.map_concurrent(create, [1], concurrency=0)


def test_map_concurrent_grows_the_connection_pool(sandbox):
    with make_client(sandbox, max_connections=2) as c:
        results = c.map_concurrent(lambda n: c.search_orders(SearchCriteria().page(1))["total_count"], range(16), 8)
        assert results == [0] * 16 and c.pool_size == 8


# ---------------------------------------------------------------- the Airflow hook


def _set_connection(monkeypatch, **conn: Any) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_COMMERCE_API", json.dumps({"conn_type": "http", **conn}))


def test_hook_builds_an_admin_client_from_the_connection(sandbox, monkeypatch):
    _set_connection(
        monkeypatch,
        host=sandbox.commerce_url,
        login=credentials.COMMERCE_ADMIN_USER,
        password=credentials.COMMERCE_ADMIN_PASSWORD,
        extra={"store_code": "default", "timeout": "7.5", "max_retries": 2, "backoff": 0.05},
    )
    hook = CommerceHook()
    c = hook.get_conn()
    try:
        assert hook.get_client() is c
        assert (c.base_url, c.store_code, c.timeout, c.max_retries, c.backoff) == (
            sandbox.commerce_url,
            "default",
            7.5,
            2,
            0.05,
        )
        assert c.search_orders(None)["total_count"] == 0 and c.stats.token_fetches == 1
        assert hook.test_connection() == (True, "Connection successfully tested")
    finally:
        hook.close()


def test_hook_uses_a_password_without_login_as_integration_token(sandbox, monkeypatch):
    _set_connection(monkeypatch, host=sandbox.commerce_url, password=credentials.COMMERCE_INTEGRATION_TOKEN)
    hook = CommerceHook(max_retries=0)
    assert hook.get_conn().search_customers(None)["total_count"] == 0
    assert hook.get_conn().stats.token_fetches == 0 and hook.get_conn().max_retries == 0
    hook.close()
    _set_connection(monkeypatch, host=sandbox.commerce_url, password="wrong-token")
    ok, message = CommerceHook().test_connection()
    assert not ok and message.startswith("The consumer isn't authorized to access Magento_Sales::actions_view.")


def test_hook_metadata_and_base_url():
    assert (CommerceHook.conn_name_attr, CommerceHook.default_conn_name, CommerceHook.hook_name) == (
        "commerce_conn_id", "commerce_api", "Adobe Commerce",
    )  # fmt: skip
    assert base_url("http://127.0.0.1:8782/") == "http://127.0.0.1:8782"
    assert base_url("shop.example.com", 8443) == "https://shop.example.com:8443"
    assert base_url("127.0.0.1", 8782, "http") == "http://127.0.0.1:8782"
    assert base_url("http://127.0.0.1:8782", 9999) == "http://127.0.0.1:8782"  # a port in the URL wins
    assert CommerceClient("https://shop/rest/", token="t").base_url == "https://shop"
    with pytest.raises(ValueError):
        base_url(None)
    with pytest.raises(ValueError):
        CommerceClient("http://shop")  # neither token nor admin credentials


# ---------------------------------------------------------------- MariaDB (Commerce's own engine)


@pytest.fixture(scope="module")
def mariadb_sandbox(mariadb_url):
    box = start_sandbox(mariadb_url)
    yield box
    box.stop()


@pytest.fixture
def maria(mariadb_sandbox: Sandbox) -> Sandbox:
    mariadb_sandbox.reset()
    return mariadb_sandbox


@pytest.mark.mariadb
@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.parametrize("name", ["create_order", "create_customer", "invoice", "ship", "refund"])
def test_mariadb_write_recovers_from_fault_without_duplicates(maria, name, kind):
    run_write_under_fault(maria, name, kind)


@pytest.mark.mariadb
def test_mariadb_lookups_token_refresh_and_concurrent_creates(maria):
    with make_client(maria) as c:
        created = c.create_customer(customer("maria@example.com"))
        assert (
            c.find_customer("MARIA@example.com", 1)["id"] == created["id"]
        )  # MariaDB compares e-mails case-insensitively
        maria.commerce("PUT", "/_sandbox/clock", json={"offset_s": 4 * 3600 + 1}).raise_for_status()
        set_faults(maria, {"kind": "lost_response", "rate": 0.5, "method": "PUT", "path": "/V1/orders/create$"})
        results = c.map_concurrent(lambda n: c.create_order(order_entity(f"114-MARIA-{n}")), range(10), concurrency=5)
        assert all(not isinstance(r, BaseException) for r in results), results
        # five threads met the 401 of the expired token; it was dropped once and fetched once
        assert (c.stats.token_fetches, c.stats.token_refreshes) == (2, 1)
        assert c.stats.resolved_existing >= 1
    assert db_scalar(maria, "SELECT COUNT(*) FROM sales_order") == 10
    assert db_scalar(maria, "SELECT COUNT(DISTINCT ext_order_id) FROM sales_order") == 10


# ---------------------------------------------------------------- logs


def test_logs_name_calls_by_template_and_never_carry_pii(sandbox, client, caplog):
    caplog.set_level("DEBUG", logger="include.clients.commerce.client")
    client.create_customer(customer("private.person@example.com"))
    set_faults(sandbox, {"kind": "lost_response", "count": 1, "method": "PUT", "path": "/V1/orders/create$"})
    oid = client.create_order(order_entity("114-PII"))["entity_id"]
    client.find_customer("private.person@example.com", 1)
    client.add_order_comment(oid, "Buyer Jane Doe asked for gift wrap.")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "PUT /V1/orders/create" in logged and "GET /V1/orders/{id}/comments" in logged
    assert "create_order: outcome unknown (RemoteProtocolError)" in logged
    for secret in (
        "private.person",
        "example.com",
        "Jane",
        "114-PII",
        "Buyer",
        credentials.COMMERCE_ADMIN_PASSWORD,
    ):
        assert secret not in logged
    assert f"/V1/orders/{oid}" not in logged and "searchCriteria" not in logged
