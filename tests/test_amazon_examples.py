"""Real Amazon order shapes reach Commerce intact: Amazon's published example orders and a generated history.

* every example order of Amazon's Orders v2026-01-01 model (``examples`` and
  ``x-amzn-api-sandbox`` of searchOrders and getOrder, read from ../shared/specs
  at test time), each with a Commerce store for its marketplace, is served by
  the SP-API sandbox and synced by the DAG (getOrder, staging, import into the
  Commerce sandbox over HTTP); the Commerce order is read
  back and checked field by field (totals and currency, charges and tip, gift
  messages, company, purchase order number, tax registration, order facts, the
  placeholder address of an FBA order Amazon gives no address for, the hold
  of an order whose buyer asked to cancel);
* a generated history carrying every shape is imported on SQLite and on
  PostgreSQL: every importable order is in Commerce with Amazon's total, and
  the only orders kept out are those with an unknown SKU.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from include.domain.cancel_requests import HOLD_PREFIX, cancellation_requested
from sandbox.catalog import MARKETPLACES
from tests.conftest import task_states, xcom_result
from tests.test_bad_orders import _channel_state, _stage_and_import
from tests.test_operations import put_orders, succeeded

#: The store views the Commerce sandbox seeds, by marketplace (the others are opened by :func:`commerce_stores`).
SEEDED_STORES = {"ATVPDKIKX0DER": "default", "A2EUQ1WTGCTBG2": "amazon_ca", "A1AM78C64UM0Y8": "amazon_mx"}


@contextmanager
def commerce_stores(sandbox, currencies: dict[str, str]) -> Iterator[dict[str, Any]]:
    """A Commerce store view for every marketplace in ``currencies`` (id -> currency) that has none, opened as an
    operator would (``POST /_sandbox/stores``: one website per currency, e-mails disabled); yields the settings
    ``store_by_marketplace`` and ``customer_stores`` for all of them, and the store ids (``store_ids``, code -> id,
    not a setting). The sandbox's reset removes them afterwards."""
    by_marketplace = dict(SEEDED_STORES)
    store_ids = {"default": 1, "amazon_ca": 2, "amazon_mx": 3}
    customer_stores = ["amazon_customers", "amazon_ca", "amazon_mx"]
    websites: set[str] = set()
    try:
        for marketplace, currency in sorted(currencies.items()):
            if marketplace in by_marketplace:
                continue
            code = f"amazon_{marketplace.lower()}"
            website = f"w_{currency.lower()}"
            response = sandbox.commerce("POST", "/_sandbox/stores", json={
                "code": code, "name": code, "website_code": website, "currency": currency, "emails_disabled": True,
            })  # fmt: skip
            assert response.status_code == 200, response.text
            by_marketplace[marketplace] = code
            store_ids[code] = response.json()["id"]
            if website not in websites:
                websites.add(website)
                customer_stores.append(code)
        yield {"store_by_marketplace": by_marketplace, "customer_stores": customer_stores, "store_ids": store_ids}
    finally:
        sandbox.commerce("POST", "/_sandbox/reset").raise_for_status()


def add_products(sandbox, orders: list[dict]) -> None:
    """The orders' SKUs in the Commerce catalogue (Amazon's examples sell Echo devices, not our catalogue)."""
    skus = sorted({i["product"]["sellerSku"] for o in orders for i in o["orderItems"]})
    response = sandbox.commerce("POST", "/_sandbox/products", json=[
        {"sku": sku, "name": sku.replace("-", " ").title(), "price": 10} for sku in skus])  # fmt: skip
    assert response.status_code == 200, response.text


def commerce_orders(sandbox, ids: list[str]) -> dict[str, dict]:
    """The Commerce orders of these Amazon orders, as the REST API returns them (by ``ext_order_id``)."""
    from include.clients.commerce.client import CommerceClient
    from include.clients.commerce.search_criteria import SearchCriteria
    from sandbox import credentials

    found: dict[str, dict] = {}
    with CommerceClient(sandbox.commerce_url, username=credentials.COMMERCE_ADMIN_USER,
                        password=credentials.COMMERCE_ADMIN_PASSWORD) as client:  # fmt: skip
        for order in client.iter_orders(SearchCriteria()):
            if order.get("ext_order_id") in ids:
                assert order["ext_order_id"] not in found, "two Commerce orders for one Amazon order"
                found[order["ext_order_id"]] = order
    return found


def D(value: Any) -> Decimal:  # noqa: N802
    return Decimal(str(value))


def shipping_address(order: dict) -> dict:
    return order["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"]


def comment(order: dict) -> str:
    return "\n".join(h.get("comment") or "" for h in order["status_histories"])


def withheld_fba_variant(example: dict) -> dict:
    """Amazon's JP FBA example as Amazon sends many FBA orders: no buyer and no delivery address."""
    variant = copy.deepcopy(example)
    variant["orderId"] = "250-0000000-0000001"
    variant.pop("buyer", None)
    variant.pop("recipient", None)
    return variant


def cancel_requested_variant(example: dict) -> dict:
    """Amazon's unshipped BR example after its buyer asked to cancel (a request nobody executed yet)."""
    variant = copy.deepcopy(example)
    variant["orderId"] = "171-0000000-0000001"
    for item in variant["orderItems"]:
        item["cancellation"] = {"cancellationRequest": {"requester": "BUYER", "cancelReason": "Ordered by mistake"}}
    return variant


def test_amazon_examples_import_with_every_field_in_its_place(sync_env, specs_dir):
    from tests.test_order_validation import _worked_examples

    examples = {e["orderId"]: e for e in _worked_examples(specs_dir)}
    jp = examples["250-1234567-8901234"]
    examples["250-0000000-0000001"] = withheld_fba_variant(jp)
    examples["171-0000000-0000001"] = cancel_requested_variant(examples["171-9876543-2109876"])
    orders = list(examples.values())
    currencies = {o["salesChannel"]["marketplaceId"]: o["proceeds"]["grandTotal"]["currencyCode"] for o in orders}
    add_products(sync_env.sandbox, orders)
    put_orders(sync_env, *orders)  # Amazon's side: the SP-API sandbox serves them through getOrder
    with commerce_stores(sync_env.sandbox, currencies) as stores:
        sync_env.settings(fba_import=True, store_by_marketplace=stores["store_by_marketplace"],
                          customer_stores=stores["customer_stores"])  # fmt: skip
        run = sync_env.run_sync(amazon_order_ids=sorted(examples))  # the DAG: extract, stage, import
        assert succeeded(run), task_states(run)
        assert xcom_result(run, "summarize")["staged"]["orders"] == len(examples)
        state = _channel_state(sync_env, list(examples))
        commerce = commerce_orders(sync_env.sandbox, list(examples))

    # Every example Amazon marks importable is in Commerce; none is kept out.
    assert {i: s[0] for i, s in state.items()} == {i: "imported" for i in examples}, state
    assert set(commerce) == set(examples)
    for order_id, order in commerce.items():
        amazon = examples[order_id]["proceeds"]["grandTotal"]
        assert D(order["grand_total"]) == D(amazon["amount"]), order_id
        assert order["order_currency_code"] == amazon["currencyCode"], order_id
        assert order["store_id"] == stores["store_ids"][stores["store_by_marketplace"][
            examples[order_id]["salesChannel"]["marketplaceId"]]]  # fmt: skip
        assert order["status_histories"] and all(not h["is_customer_notified"] for h in order["status_histories"])

    us = commerce["123-4567890-1234567"]  # business, Prime, DELIVERY_TIP, gift message, alias, replacement
    assert D(us["subtotal"]) == D("149.97") and D(us["tax_amount"]) == D("0.02")
    assert D(us["shipping_amount"]) == D("5.00")  # the delivery tip: Shipping & Handling, named below
    assert "Amazon charges included in Shipping & Handling: delivery tip 5.00 USD." in comment(us)
    assert "Delivery tip status on Amazon: FINALIZED." in comment(us)
    assert us["shipping_description"] == "Amazon Standard (Prime, Merchant fulfilled) + delivery tip"
    gift = "Happy Holidays! Enjoy your new smart speakers."
    echo = next(i for i in us["items"] if i["sku"] == "ECHO-DOT-4-CHARCOAL")
    assert echo["extension_attributes"]["gift_message"]["message"] == gift
    assert us["extension_attributes"]["gift_message"]["message"] == gift
    assert us["billing_address"]["company"] == shipping_address(us)["company"] == "Smith Industries LLC"
    assert us["payment"]["po_number"] == "PO-2024-12345"
    for fact in ("Amazon programs: Prime, Amazon Business.", "seller order id SELLER-ORDER-2024-001",
                 "Replacement for Amazon order 123-4567890-1234566.",
                 "ship by 2024-12-26 00:00:00 – 2024-12-27 23:59:59 UTC; deliver by 2024-12-28 00:00:00 – "
                 "2024-12-30 23:59:59 UTC", "purchase order number PO-2024-12345"):  # fmt: skip
        assert fact in comment(us), fact
    assert "Smith" not in comment(us) and "Seattle" not in comment(us) and "Happy Holidays" not in comment(us)
    assert shipping_address(us)["street"] == ["123 Main Street", "Suite 456"]
    assert us["extension_attributes"]["shipping_assignments"][0]["shipping"]["method"] == "amazon_prime"

    uk = commerce["202-1234567-8901234"]  # shipping and its tax, company on the address, gift message
    assert (D(uk["subtotal"]), D(uk["shipping_amount"]), D(uk["shipping_tax_amount"]), D(uk["tax_amount"])) == (
        D("89.97"), D("10.00"), D("1.00"), D("4.00"),
    )  # fmt: skip
    assert shipping_address(uk)["company"] == "Wilson Electronics Ltd" and shipping_address(uk)["country_id"] == "GB"
    assert uk["items"][0]["extension_attributes"]["gift_message"]["message"].startswith("Happy Christmas!")
    assert "Gift order: 1 item(s) with a gift message (on the items), gift wrap PREMIUM." in comment(uk)

    br = commerce["171-2345678-9012345"]  # Amazon Business in BRL: PO number, company, buyer VAT registration
    assert br["payment"]["po_number"] == "PO-BR-2024-5678"
    assert br["billing_address"]["company"] == "Oliveira Tecnologia Ltda"
    assert br["customer_taxvat"] == br["billing_address"]["vat_id"] == "1234567890"
    assert "buyer VAT registration in the order's VAT number" in comment(br) and "1234567890" not in comment(br)
    assert "Amazon programs: Amazon Business, Delivery by Amazon." in comment(br)

    tr = commerce["028-1234567-8901234"]  # TRY, business tax registration without a PO number
    assert tr["customer_taxvat"] == "TR1234567890" and "Business order:" in comment(tr)
    assert "Test company name" not in comment(tr)

    jp = commerce["250-1234567-8901234"]  # FBA in whole yen: complete, no decimals lost
    assert (jp["grand_total"], jp["order_currency_code"], jp["state"]) == (19940, "JPY", "complete")
    assert [i["price"] for i in jp["items"]] == [5980, 6980]
    assert "seller order id JP-ORDER-2024-001" in comment(jp)

    pickup = commerce["114-9876543-1234567"]  # in-store pickup, no buyer: a guest order at the store's address
    assert pickup["customer_is_guest"] == 1 and pickup["customer_email"].endswith("@marketplace.amazon.invalid")
    assert "Amazon programs: In-store pickup." in comment(pickup)
    assert shipping_address(pickup)["company"] == "Test Store"

    requested = commerce["171-0000000-0000001"]  # the buyer asked to cancel: on hold, so the warehouse does not ship
    assert requested["state"] == "holded" and HOLD_PREFIX in comment(requested)
    assert commerce["171-9876543-2109876"]["state"] == "processing"

    withheld = commerce["250-0000000-0000001"]  # FBA without buyer or address: marked placeholder, guest
    address = shipping_address(withheld)
    assert address["street"] == ["Address withheld by Amazon (FBA)"] and address["country_id"] == "JP"
    assert (address["firstname"], address["lastname"]) == ("Amazon", "FBA customer")
    assert withheld["billing_address"]["street"] == ["Address withheld by Amazon (FBA)"]
    assert withheld["customer_is_guest"] == 1 and withheld["state"] == "complete"
    assert "the addresses are placeholders" in comment(withheld)


@pytest.mark.parametrize("sync_env", [None, "postgres"], ids=["sqlite", "postgres"], indirect=True)
def test_a_generated_history_of_every_shape_imports_with_amazons_totals(sync_env):
    from sandbox.generator import generate_orders

    timelines = generate_orders(160, 48, seed=11, now=datetime(2026, 3, 1, 12, tzinfo=UTC))
    orders = [t[-1] for t in timelines]
    by_id = {o["orderId"]: o for o in orders}
    currencies = {m: currency for m, (_, currency, _) in MARKETPLACES.items()}
    with commerce_stores(sync_env.sandbox, currencies) as stores:
        sync_env.settings(fba_import=True, customer_creation="create", store_by_marketplace=stores["store_by_marketplace"],
                          customer_stores=stores["customer_stores"])  # fmt: skip
        staged = _stage_and_import(sync_env, "generated-history", orders)
        assert staged["rejected_count"] == 0
        state = _channel_state(sync_env, list(by_id))
        commerce = commerce_orders(sync_env.sandbox, list(by_id))

    status = {o["orderId"]: o["fulfillment"]["fulfillmentStatus"] for o in orders}
    importable = {i for i, o in by_id.items()
                  if status[i] in ("UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED")
                  and (o["fulfillment"]["fulfilledBy"] == "MERCHANT" or status[i] == "SHIPPED")}  # fmt: skip
    kept_out = {i: s[1] for i, s in state.items() if i in importable and s[0] != "imported"}
    assert all("The product that was requested doesn't exist" in reason for reason in kept_out.values()), kept_out
    assert set(commerce) == importable - set(kept_out)
    for order_id, order in commerce.items():
        amazon = by_id[order_id]["proceeds"]["grandTotal"]
        assert (D(order["grand_total"]), order["order_currency_code"]) == (D(amazon["amount"]), amazon["currencyCode"])

    imported = [by_id[i] for i in commerce]

    def having(test) -> list[dict]:
        found = [o for o in imported if test(o)]
        assert found, "the history lacks a shape"
        return found

    for o in having(lambda o: any("packing" in i["fulfillment"] for i in o["orderItems"])):
        items = commerce[o["orderId"]]["items"]
        assert any("gift_message" in i.get("extension_attributes", {}) for i in items) or "gift wrap" in comment(
            commerce[o["orderId"]]
        )
    for o in having(lambda o: o["buyer"].get("buyerPurchaseOrderNumber")):
        assert commerce[o["orderId"]]["payment"]["po_number"] == o["buyer"]["buyerPurchaseOrderNumber"]
    for o in having(lambda o: o["fulfillment"]["fulfilledBy"] == "AMAZON" and "recipient" not in o):
        assert shipping_address(commerce[o["orderId"]])["street"] == ["Address withheld by Amazon (FBA)"]
    having(lambda o: o["proceeds"]["grandTotal"]["currencyCode"] == "JPY")
    having(lambda o: o["proceeds"]["grandTotal"]["currencyCode"] in ("EUR", "GBP", "SEK", "PLN", "TRY", "BRL"))
    for o in having(cancellation_requested):
        assert commerce[o["orderId"]]["state"] == "holded", o["orderId"]
