"""Hand-built Amazon Orders API v2026-01-01 ``Order`` dicts for unit tests (valid against the spec's Order schema).

Money follows the Orders API model: per item ``ITEM`` (unit price × quantity),
``SHIPPING``, ``TAX`` (``ITEM``/``SHIPPING`` details) and negative ``DISCOUNT``
breakdowns summing to ``proceedsTotal``; the order ``grandTotal`` is the sum of
the items' totals.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

CENT = Decimal("0.01")
_ids = itertools.count(1)
CURRENCY = {"ATVPDKIKX0DER": "USD", "A2EUQ1WTGCTBG2": "CAD", "A1AM78C64UM0Y8": "MXN"}
COUNTRY = {"ATVPDKIKX0DER": "US", "A2EUQ1WTGCTBG2": "CA", "A1AM78C64UM0Y8": "MX"}
#: Further marketplaces :func:`order` can place an order in (random orders stay in the three above).
OTHER_MARKETPLACES = {"A1F83G8C2ARO7P": ("GBP", "GB")}


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(amount: Decimal | str, currency: str) -> dict[str, str]:
    return {"amount": str(Decimal(amount).quantize(CENT)), "currencyCode": currency}


def line(
    sku: str | None = "MUG-001",
    *,
    qty: int = 1,
    unit: str = "10.00",
    shipping: str = "0",
    tax_rate: str = "0",
    item_discount: str = "0",
    shipping_discount: str = "0",
    currency: str = "USD",
    item_id: str | None = None,
    shipped: int = 0,
    promotion: str | None = None,
) -> dict[str, Any]:
    """One order item with consistent proceeds."""
    unit_d, ship_d, rate = Decimal(unit), Decimal(shipping), Decimal(tax_rate)
    item_total = (unit_d * qty).quantize(CENT)
    disc_i, disc_s = Decimal(item_discount), Decimal(shipping_discount)
    tax_i = ((item_total - disc_i) * rate).quantize(CENT, ROUND_HALF_EVEN)
    tax_s = ((ship_d - disc_s) * rate).quantize(CENT, ROUND_HALF_EVEN)
    breakdowns: list[dict[str, Any]] = [{"type": "ITEM", "subtotal": money(item_total, currency)}]
    if ship_d:
        breakdowns.append({"type": "SHIPPING", "subtotal": money(ship_d, currency)})
    if tax_i or tax_s:
        breakdowns.append(
            {
                "type": "TAX",
                "subtotal": money(tax_i + tax_s, currency),
                "detailedBreakdowns": [
                    {"subtype": "ITEM", "value": money(tax_i, currency)},
                    {"subtype": "SHIPPING", "value": money(tax_s, currency)},
                ],
            }
        )
    if disc_i or disc_s:
        breakdowns.append(
            {
                "type": "DISCOUNT",
                "subtotal": money(-(disc_i + disc_s), currency),
                "detailedBreakdowns": [
                    {"subtype": "ITEM", "value": money(-disc_i, currency)},
                    {"subtype": "SHIPPING", "value": money(-disc_s, currency)},
                ],
            }
        )
    total = item_total + ship_d + tax_i + tax_s - disc_i - disc_s
    product: dict[str, Any] = {
        "asin": "B000000001",
        "title": f"Product {sku}",
        "price": {"unitPrice": money(unit_d, currency)},
    }
    if sku is not None:
        product["sellerSku"] = sku
    item: dict[str, Any] = {
        "orderItemId": item_id or f"{next(_ids):014d}",
        "quantityOrdered": qty,
        "product": product,
        "proceeds": {"proceedsTotal": money(total, currency), "breakdowns": breakdowns},
        "fulfillment": {"quantityFulfilled": shipped, "quantityUnfulfilled": qty - shipped},
    }
    if promotion or disc_i or disc_s:
        item["promotion"] = {"breakdowns": [{"promotionId": promotion or "PLM-12345-SAVE"}]}
    return item


def order(
    *items: dict[str, Any],
    order_id: str | None = None,
    status: str = "UNSHIPPED",
    fulfilled_by: str = "MERCHANT",
    marketplace: str = "ATVPDKIKX0DER",
    created: datetime | None = None,
    last_updated: datetime | None = None,
    buyer_name: str | None = "Ana Smith",
    buyer_email: str | None = "ana.smith.test@marketplace.amazon.com",
    address: bool = True,
    phone: str | None = "+1 206-555-0100",
    level: str = "STANDARD",
    pending: bool = False,
) -> dict[str, Any]:
    """An Order; ``pending=True`` withholds buyer, recipient and prices as Amazon does before payment verification."""
    currency = CURRENCY.get(marketplace) or OTHER_MARKETPLACES[marketplace][0]
    items_list = list(items) or [line(currency=currency)]
    created = created or datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    last_updated = last_updated or created + timedelta(minutes=5)
    grand = sum((Decimal(i["proceeds"]["proceedsTotal"]["amount"]) for i in items_list), Decimal(0))
    result: dict[str, Any] = {
        "orderId": order_id or f"111-{next(_ids):07d}-{next(_ids):07d}",
        "createdTime": iso(created),
        "lastUpdatedTime": iso(last_updated),
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": marketplace, "marketplaceName": "Amazon.test"},
        "fulfillment": {"fulfillmentStatus": status, "fulfilledBy": fulfilled_by, "fulfillmentServiceLevel": level},
        "orderItems": items_list,
    }
    if pending:
        for item in items_list:
            item.pop("proceeds", None)
            item["product"].pop("price", None)
        return result
    result["proceeds"] = {"grandTotal": money(grand, currency)}
    buyer: dict[str, Any] = {}
    if buyer_name:
        buyer["buyerName"] = buyer_name
    if buyer_email:
        buyer["buyerEmail"] = buyer_email
    if buyer:
        result["buyer"] = buyer
    if address:
        delivery = {
            "name": buyer_name or "Ana Smith",
            "addressLine1": "1 Main St",
            "addressLine2": "Apt 4",
            "city": "Seattle",
            "stateOrRegion": "WA",
            "postalCode": "98101",
            "countryCode": COUNTRY.get(marketplace) or OTHER_MARKETPLACES[marketplace][1],
            "addressType": "RESIDENTIAL",
        }
        if phone:
            delivery["phone"] = phone
        result["recipient"] = {"deliveryAddress": delivery}
    return result


def random_order(rng: random.Random, **kwargs: Any) -> dict[str, Any]:
    """A random, internally consistent order (1-5 lines, tax, shipping, promotions) in a random marketplace."""
    marketplace = kwargs.pop("marketplace", None) or rng.choice(list(CURRENCY))
    currency = CURRENCY[marketplace]
    lines = []
    for index in range(rng.randint(1, 5)):
        qty = rng.randint(1, 4)
        unit = Decimal(rng.randint(99, 25000)) / 100
        shipping = Decimal(rng.choice([0, 399, 499, 799])) / 100 if index == 0 else Decimal(0)
        disc_i = (unit * qty * Decimal(rng.choice(["0", "0", "0.1", "0.15"]))).quantize(CENT, ROUND_HALF_EVEN)
        disc_s = shipping if shipping and rng.random() < 0.2 else Decimal(0)
        lines.append(
            line(
                f"SKU-{rng.randint(1, 999):03d}",
                qty=qty,
                unit=str(unit),
                shipping=str(shipping),
                tax_rate=rng.choice(["0", "0.0725", "0.1025", "0.13", "0.14975", "0.16"]),
                item_discount=str(disc_i),
                shipping_discount=str(disc_s),
                currency=currency,
            )
        )
    return order(*lines, marketplace=marketplace, **kwargs)
