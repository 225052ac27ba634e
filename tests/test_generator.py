"""The seeded order generator: determinism, realistic mix, spec-valid orders, consistent money."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sandbox.catalog import BY_SKU, MARKETPLACES, UNKNOWN_SKUS
from sandbox.generator import generate_orders, order_status, strip_unverified, summarize
from sandbox.spapi.times import parse_iso
from tests.test_spapi_sandbox import SpecValidator

NOW = datetime(2026, 2, 1, 18, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def timelines():
    return generate_orders(2000, 72, seed=42, now=NOW)


def test_same_seed_same_orders_other_seed_other_orders():
    assert generate_orders(50, 24, seed=1, now=NOW) == generate_orders(50, 24, seed=1, now=NOW)
    assert generate_orders(50, 24, seed=1, now=NOW) != generate_orders(50, 24, seed=2, now=NOW)
    assert generate_orders(0, 24, seed=1, now=NOW) == []


def test_mix_of_channels_marketplaces_and_statuses(timelines):
    current = [t[-1] for t in timelines]
    by = Counter(o["fulfillment"]["fulfilledBy"] for o in current)
    assert 0.65 < by["MERCHANT"] / 2000 < 0.75
    markets = Counter(o["salesChannel"]["marketplaceId"] for o in current)
    assert set(markets) == set(MARKETPLACES) and markets["ATVPDKIKX0DER"] > markets["A2EUQ1WTGCTBG2"] > 0
    statuses = Counter((o["fulfillment"]["fulfilledBy"], order_status(o)) for o in current)
    for pair in [("MERCHANT", "PENDING"), ("MERCHANT", "UNSHIPPED"), ("MERCHANT", "SHIPPED"), ("MERCHANT", "CANCELLED"),
                 ("MERCHANT", "PARTIALLY_SHIPPED"), ("AMAZON", "PENDING"), ("AMAZON", "SHIPPED")]:  # fmt: skip
        assert statuses[pair] > 0, pair
    assert not {s for (f, s) in statuses if f == "AMAZON"} - {"PENDING", "SHIPPED", "CANCELLED"}
    # cancellations both from pending (never verified) and from unshipped (buyer request)
    cancelled = [t for t in timelines if order_status(t[-1]) == "CANCELLED"]
    assert {order_status(t[-2]) for t in cancelled} >= {"PENDING", "UNSHIPPED"}


def test_histories_are_ordered_and_end_at_now(timelines):
    for timeline in timelines:
        times = [parse_iso(v["lastUpdatedTime"]) for v in timeline]
        assert times == sorted(times) and times[-1] <= NOW
        assert parse_iso(timeline[0]["createdTime"]) >= NOW - timedelta(hours=72)
        assert order_status(timeline[0]) == "PENDING"
        assert {v["orderId"] for v in timeline} == {timeline[0]["orderId"]}
        assert {v["createdTime"] for v in timeline} == {timeline[0]["createdTime"]}


def test_ids_items_and_buyers(timelines):
    current = [t[-1] for t in timelines]
    assert all(re.fullmatch(r"\d{3}-\d{7}-\d{7}", o["orderId"]) for o in current)
    assert len({o["orderId"] for o in current}) == 2000
    item_ids = [i["orderItemId"] for o in current for i in o["orderItems"]]
    assert all(i.isdigit() for i in item_ids) and len(set(item_ids)) == len(item_ids)
    lines = Counter(len(o["orderItems"]) for o in current)
    assert set(lines) == {1, 2, 3, 4, 5}
    skus = [i["product"]["sellerSku"] for o in current for i in o["orderItems"]]
    assert all(s in BY_SKU for s in skus) and 0 < sum(s in UNKNOWN_SKUS for s in skus) < len(skus) * 0.05
    emails = Counter(o["buyer"].get("buyerEmail") for o in current if o["buyer"].get("buyerEmail"))
    returning = sum(n for n in emails.values() if n > 1)
    assert 0.15 < returning / sum(emails.values()) < 0.40
    mfn = [o for o in current if o["fulfillment"]["fulfilledBy"] == "MERCHANT"]
    assert any("buyerEmail" not in o["buyer"] for o in mfn)
    assert any("recipient" not in o for o in current)  # FBA orders Amazon withholds the address of
    fba = [o for o in current if o["fulfillment"]["fulfilledBy"] == "AMAZON"]
    assert all("buyerEmail" not in o["buyer"] for o in fba)  # the spec: FBM only
    assert all("phone" not in o.get("recipient", {}).get("deliveryAddress", {}) for o in fba)
    assert summarize(timelines)["returningBuyerOrders"] == returning


def test_money_is_consistent_and_in_marketplace_currency(timelines):
    kinds = Counter()
    for timeline in timelines:
        order = timeline[-1]
        currency = MARKETPLACES[order["salesChannel"]["marketplaceId"]][1]
        grand = Decimal(0)
        for item in order["orderItems"]:
            proceeds = item["proceeds"]
            parts = {b["type"]: Decimal(b["subtotal"]["amount"]) for b in proceeds["breakdowns"]}
            kinds.update(parts)
            assert Decimal(proceeds["proceedsTotal"]["amount"]) == sum(parts.values())
            unit = Decimal(item["product"]["price"]["unitPrice"]["amount"])
            assert parts["ITEM"] == unit * item["quantityOrdered"]
            for part in proceeds["breakdowns"]:
                if "detailedBreakdowns" in part:
                    assert sum(Decimal(d["value"]["amount"]) for d in part["detailedBreakdowns"]) == parts[part["type"]]
            assert parts.get("DISCOUNT", Decimal(0)) <= 0
            assert {m["currencyCode"] for m in _money(item)} == {currency}
            grand += Decimal(proceeds["proceedsTotal"]["amount"])
        tip = sum(
            Decimal(b["subtotal"]["amount"]) for b in order["proceeds"]["breakdowns"] if b["type"] == "DELIVERY_TIP"
        )
        assert Decimal(order["proceeds"]["grandTotal"]["amount"]) == grand + tip
        assert sum(Decimal(b["subtotal"]["amount"]) for b in order["proceeds"]["breakdowns"]) == grand + tip
        assert order["proceeds"]["grandTotal"]["currencyCode"] == currency
        if currency == "JPY":  # no minor unit
            assert all("." not in m["amount"] for m in _money(order))
    assert {"ITEM", "SHIPPING", "TAX", "DISCOUNT", "GIFT_WRAP", "COD_FEE", "OTHER"} <= set(kinds)


def test_amazon_shapes_at_realistic_rates(timelines):
    """Every shape of Amazon's published examples appears, at a plausible rate, in a 2,000-order history."""
    current = [t[-1] for t in timelines]
    mfn = [o for o in current if o["fulfillment"]["fulfilledBy"] == "MERCHANT"]
    fba = [o for o in current if o["fulfillment"]["fulfilledBy"] == "AMAZON"]

    def share(orders, test) -> float:
        return sum(1 for o in orders if test(o)) / len(orders)

    programs = Counter(p for o in current for p in o.get("programs", []))
    assert {"PRIME", "PREMIUM", "AMAZON_BUSINESS", "IN_STORE_PICK_UP"} <= set(programs)
    gift = share(current, lambda o: any("packing" in i["fulfillment"] for i in o["orderItems"]))
    assert 0.03 < gift < 0.10
    tips = [o for o in current if any(b["type"] == "DELIVERY_TIP" for b in o["proceeds"]["breakdowns"])]
    assert tips and all(o["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER" for o in tips)
    business = [o for o in current if "AMAZON_BUSINESS" in o.get("programs", [])]
    assert 0.02 < len(business) / len(current) < 0.08
    assert all(o["buyer"]["buyerCompanyName"] for o in business)
    assert any(o["buyer"].get("buyerPurchaseOrderNumber") for o in business)
    assert any(o.get("tax", {}).get("taxRegistrations") for o in business)
    withheld = share(fba, lambda o: "recipient" not in o)
    assert 0.2 < withheld < 0.4
    assert all("recipient" in o for o in mfn if order_status(o) not in ("PENDING", "PENDING_AVAILABILITY"))
    assert 0.05 < share(current, lambda o: "orderAliases" in o) < 0.15
    assert any("associatedOrders" in o for o in current)
    requested = [o for o in mfn if "cancellationRequest" in o["orderItems"][0].get("cancellation", {})]
    assert {order_status(o) for o in requested} == {"UNSHIPPED", "CANCELLED"}
    markets = Counter(o["salesChannel"]["marketplaceId"] for o in current)
    assert 0.8 < sum(markets[m] for m in ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8")) / len(current) < 0.95
    currencies = {o["proceeds"]["grandTotal"]["currencyCode"] for o in current}
    assert {"EUR", "GBP", "JPY", "SEK", "PLN", "TRY", "BRL"} <= currencies


def _money(node):
    if isinstance(node, dict):
        if set(node) == {"amount", "currencyCode"}:
            yield node
        for value in node.values():
            yield from _money(value)
    elif isinstance(node, list):
        for value in node:
            yield from _money(value)


def test_shipped_mfn_orders_have_packages_covering_their_items(timelines):
    for timeline in timelines:
        order = timeline[-1]
        status = order_status(order)
        if order["fulfillment"]["fulfilledBy"] != "MERCHANT" or status not in ("SHIPPED", "PARTIALLY_SHIPPED"):
            assert "packages" not in order
            continue
        shipped = Counter()
        for package in order["packages"]:
            assert package["packageReferenceId"].isdigit() and package["trackingNumber"]
            for entry in package["packageItems"]:
                shipped[entry["orderItemId"]] += entry["quantity"]
        complete = all(shipped[i["orderItemId"]] == i["quantityOrdered"] for i in order["orderItems"])
        assert complete == (status == "SHIPPED")


def test_every_version_validates_against_the_order_definition(timelines, specs_dir):
    spec = SpecValidator(specs_dir / "sp-api" / "orders_2026-01-01.json")
    for timeline in timelines[:400]:
        for version in timeline:
            spec.validate("Order", version)
            spec.validate("Order", strip_unverified(version))
