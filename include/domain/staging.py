"""Flatten Amazon v2026-01-01 ``Order`` objects into the channel tables' order and item frames.

One row per order (the newest version when an order appears more than once, as
it can when it changes while a window is being paged) and one row per order
item. Each order is validated first (:mod:`include.domain.order_validation`); an invalid
one is set aside with its reason. The raw order JSON travels in ``payload`` so the
importer maps from exactly what was staged. Buyer name and e-mail are kept (the channel database is the
seller's own, like Amazon Sales Channel's tables): the frames hold them in clear, the channel store encrypts
:data:`BUYER_COLUMNS` when it writes them; they are never logged. ``sync_fingerprint`` is computed here, over the
clear data, so that an unchanged order has the same fingerprint whatever its (randomised) ciphertext.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from include.domain.cancel_requests import cancellation_requested
from include.domain.mapping import MappingError, buyer_email, cents, item_money
from include.domain.order_validation import InvalidOrder, Order, clean_text, validate_order

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

#: Order columns holding buyer data: stored encrypted (:mod:`include.domain.buyer_data`), never logged.
BUYER_COLUMNS = ("buyer_name", "buyer_email", "payload")
#: Widths of the free-text display columns (the payload keeps the whole text).
BUYER_NAME_LENGTH, TITLE_LENGTH = 255, 500

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


@dataclass(frozen=True)
class RejectedOrder:
    """A landed order set aside at staging, why, and where its raw version stays for replay.

    ``reason`` names fields and never holds their values (they may be buyer data).
    """

    amazon_order_id: str | None
    reason: str
    source: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"amazon_order_id": self.amazon_order_id or "?", "reason": self.reason, "source": self.source}


def sync_fingerprint(order: dict[str, Any]) -> str:
    """A digest of what an imported order must follow in Commerce: cancellation, a buyer's open cancellation
    request (the hold), buyer name and e-mail.

    The request joins the digest only while there is one, so an order without one keeps
    the digest it had before requests were followed (no update of every imported order).
    """
    status = (order.get("fulfillment") or {}).get("fulfillmentStatus")
    buyer = order.get("buyer") or {}
    basis: list[Any] = [status == "CANCELLED", (buyer.get("buyerName") or "").strip(), buyer_email(order) or ""]
    if cancellation_requested(order):
        basis.append("buyer cancellation requested")
    return hashlib.sha256(json.dumps(basis).encode()).hexdigest()


def _order_row(order: dict[str, Any], checked: Order) -> dict[str, Any]:
    status = checked.fulfillment.fulfillmentStatus
    total = checked.proceeds.grandTotal if checked.proceeds else None
    return {
        "amazon_order_id": checked.orderId,
        "marketplace_id": checked.salesChannel.marketplaceId or "UNKNOWN",
        "fulfilled_by": checked.fulfillment.fulfilledBy,
        "amazon_status": status,
        "channel_status": CHANNEL_STATUS[status],
        "created_at": checked.createdTime,
        "last_updated_at": checked.lastUpdatedTime,
        "currency": total.currencyCode if total else None,
        "order_total": cents(total.amount) if total else None,
        "item_count": len(checked.orderItems),
        "buyer_name": clean_text(checked.buyer.buyerName if checked.buyer else None, BUYER_NAME_LENGTH),
        "buyer_email": buyer_email(order),
        "sync_fingerprint": sync_fingerprint(order),
        "payload": json.dumps(order, separators=(",", ":"), sort_keys=True),
    }


def _item_rows(order: dict[str, Any], checked: Order) -> Iterator[dict[str, Any]]:
    for item, checked_item in zip(order["orderItems"], checked.orderItems, strict=True):
        product = checked_item.product
        try:
            money = item_money(item)
        except MappingError:
            money = None  # staged without amounts; the importer reports the reason
        shipped = checked_item.fulfillment.quantityFulfilled if checked_item.fulfillment else None
        row = {
            "amazon_order_id": checked.orderId,
            "order_item_id": checked_item.orderItemId,
            "sku": product.sellerSku,
            "asin": product.asin,
            "title": clean_text(product.title, TITLE_LENGTH),
            "quantity_ordered": checked_item.quantityOrdered,
            "quantity_shipped": shipped or 0,
            "currency": money.currency if money else None,
            "order_last_updated_at": checked.lastUpdatedTime,
        }
        for key in ("unit_price", "item_subtotal", "item_tax", "item_discount", "shipping_price", "shipping_tax",
                    "shipping_discount", "proceeds_total"):  # fmt: skip
            row[key] = getattr(money, key) if money else None
        yield row


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a batch is validated and flattened.

    Validation allocates many small objects, none in reference cycles; with a batch of
    parsed orders alive, the collector would rescan all of it over and over (about half
    the time of a batch). Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def flatten(
    orders: Iterable[Any], *, on_invalid: Callable[[int, InvalidOrder], None] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order and item frames (columns :data:`ORDER_COLUMNS` / :data:`ITEM_COLUMNS`) for the given orders.

    Every order is checked first (:func:`include.domain.order_validation.validate_order`).
    An invalid one raises :class:`InvalidOrder`, or, with ``on_invalid``, is
    handed to it with its position and left out while the others go on.
    Timestamps are timezone-aware UTC; money columns hold ``Decimal`` (or None while
    Amazon withholds prices). When an order occurs more than once, the version with
    the newest ``lastUpdatedTime`` is kept.
    """
    import pandas as pd  # imported here so that DAG files importing this module stay fast to parse

    newest: dict[str, tuple[dict[str, Any], Order]] = {}
    with _without_cyclic_gc():
        for position, order in enumerate(orders):
            try:
                checked = validate_order(order)
            except InvalidOrder as exc:
                if on_invalid is None:
                    raise
                on_invalid(position, exc)
                continue
            seen = newest.get(checked.orderId)
            if seen is None or checked.lastUpdatedTime > seen[1].lastUpdatedTime:
                newest[checked.orderId] = (order, checked)
        order_rows = [_order_row(order, checked) for order, checked in newest.values()]
        item_rows = [item for order, checked in newest.values() for item in _item_rows(order, checked)]
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
