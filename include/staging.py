"""Flatten Amazon v2026-01-01 ``Order`` objects into the channel tables' order and item frames.

One row per order (the newest version when an order appears more than once, as
it can when it changes while a window is being paged) and one row per order
item. The raw order JSON travels in ``payload`` so the importer maps from exactly
what was staged. Buyer name and e-mail are stored (the channel database is the
seller's own, like Amazon Sales Channel's tables); they are never logged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING, Any

from include.mapping import MappingError, buyer_email, cents, item_money

if TYPE_CHECKING:
    import pandas as pd

ORDER_COLUMNS = [
    "amazon_order_id", "marketplace_id", "fulfilled_by", "amazon_status", "channel_status", "created_at",
    "last_updated_at", "currency", "order_total", "item_count", "buyer_name", "buyer_email", "sync_fingerprint",
    "payload",
]  # fmt: skip
ITEM_COLUMNS = [
    "amazon_order_id", "order_item_id", "sku", "asin", "title", "quantity_ordered", "quantity_shipped", "currency",
    "unit_price", "item_subtotal", "item_tax", "item_discount", "shipping_price", "shipping_tax",
    "shipping_discount", "proceeds_total", "order_last_updated_at",
]  # fmt: skip

#: Amazon fulfillment status -> the channel order status Amazon Sales Channel shows.
CHANNEL_STATUS = {
    "PENDING_AVAILABILITY": "Pending",
    "PENDING": "Pending",
    "UNSHIPPED": "Unshipped",
    "PARTIALLY_SHIPPED": "PartiallyShipped",
    "SHIPPED": "Shipped",
    "CANCELLED": "Canceled",
    "UNFULFILLABLE": "Unfulfillable",
}


class StagingError(ValueError):
    """An order lacks a field the Orders API schema requires (orderId, createdTime, lastUpdatedTime)."""


def parse_amazon_time(value: Any, what: str) -> datetime:
    """An SP-API ISO 8601 timestamp as an aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise StagingError(f"{what} is not an ISO 8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def sync_fingerprint(order: dict[str, Any]) -> str:
    """A digest of what an imported order must follow in Commerce: cancellation, buyer name and e-mail."""
    status = (order.get("fulfillment") or {}).get("fulfillmentStatus")
    buyer = order.get("buyer") or {}
    basis = json.dumps([status == "CANCELLED", (buyer.get("buyerName") or "").strip(), buyer_email(order) or ""])
    return hashlib.sha256(basis.encode()).hexdigest()


def _order_row(order: dict[str, Any]) -> dict[str, Any]:
    order_id = order.get("orderId")
    if not order_id:
        raise StagingError("an order has no orderId")
    for key in ("createdTime", "lastUpdatedTime"):
        if not order.get(key):
            raise StagingError(f"order {order_id} has no {key}")
    fulfillment = order.get("fulfillment") or {}
    status = fulfillment.get("fulfillmentStatus") or "UNKNOWN"
    total = (order.get("proceeds") or {}).get("grandTotal") or {}
    buyer = order.get("buyer") or {}
    return {
        "amazon_order_id": order_id,
        "marketplace_id": (order.get("salesChannel") or {}).get("marketplaceId") or "UNKNOWN",
        "fulfilled_by": fulfillment.get("fulfilledBy") or "UNKNOWN",
        "amazon_status": status,
        "channel_status": CHANNEL_STATUS.get(status, "Unknown"),
        "created_at": parse_amazon_time(order["createdTime"], f"order {order_id} createdTime"),
        "last_updated_at": parse_amazon_time(order["lastUpdatedTime"], f"order {order_id} lastUpdatedTime"),
        "currency": total.get("currencyCode"),
        "order_total": cents(Decimal(str(total["amount"]))) if total.get("amount") is not None else None,
        "item_count": len(order.get("orderItems") or []),
        "buyer_name": (buyer.get("buyerName") or "").strip() or None,
        "buyer_email": buyer_email(order),
        "sync_fingerprint": sync_fingerprint(order),
        "payload": json.dumps(order, separators=(",", ":"), sort_keys=True),
    }


def _item_rows(order: dict[str, Any], last_updated_at: datetime) -> Iterator[dict[str, Any]]:
    for item in order.get("orderItems") or []:
        product = item.get("product") or {}
        try:
            money = item_money(item)
        except MappingError:
            money = None  # staged without amounts; the importer reports the reason
        shipped = (item.get("fulfillment") or {}).get("quantityFulfilled") or 0
        row = {
            "amazon_order_id": order["orderId"],
            "order_item_id": str(item.get("orderItemId")),
            "sku": product.get("sellerSku"),
            "asin": product.get("asin"),
            "title": (product.get("title") or "")[:500] or None,
            "quantity_ordered": int(item.get("quantityOrdered") or 0),
            "quantity_shipped": int(shipped),
            "currency": money.currency if money else None,
            "order_last_updated_at": last_updated_at,
        }
        for key in ("unit_price", "item_subtotal", "item_tax", "item_discount", "shipping_price", "shipping_tax",
                    "shipping_discount", "proceeds_total"):  # fmt: skip
            row[key] = getattr(money, key) if money else None
        yield row


def flatten(orders: Iterable[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order and item frames (columns :data:`ORDER_COLUMNS` / :data:`ITEM_COLUMNS`) for the given orders.

    Timestamps are timezone-aware UTC; money columns hold ``Decimal`` (or None while
    Amazon withholds prices). When an order occurs more than once, the version with
    the newest ``lastUpdatedTime`` is kept.
    """
    import pandas as pd  # imported here so that DAG files importing this module stay fast to parse

    newest: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for order in orders:
        row = _order_row(order)
        seen = newest.get(row["amazon_order_id"])
        if seen is None or row["last_updated_at"] > seen[0]["last_updated_at"]:
            newest[row["amazon_order_id"]] = (row, order)
    order_rows = [row for row, _ in newest.values()]
    item_rows = [item for row, order in newest.values() for item in _item_rows(order, row["last_updated_at"])]
    orders_df = pd.DataFrame(order_rows, columns=ORDER_COLUMNS)
    items_df = pd.DataFrame(item_rows, columns=ITEM_COLUMNS)
    for frame, columns in ((orders_df, ("created_at", "last_updated_at")), (items_df, ("order_last_updated_at",))):
        for column in columns:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return orders_df, items_df


def batched(iterable: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of up to ``size`` consecutive elements (``itertools.batched`` arrives only in Python 3.12)."""
    if size < 1:
        raise ValueError("size must be at least 1")
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk
