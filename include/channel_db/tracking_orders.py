"""The channel orders and items as the tracking push sees them: their Commerce orders, items and confirmed units."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from include.channel_db.statements import DEFAULT_ACCOUNT, chunks, records, statement, tx


@dataclass(frozen=True)
class TrackingOrder:
    """A channel order as the tracking push sees it: who fulfils it and its Commerce order."""

    amazon_order_id: str
    marketplace_id: str
    fulfilled_by: str
    amazon_status: str
    import_status: str
    commerce_order_id: int
    created_at: datetime


@dataclass(frozen=True)
class TrackingItem:
    """An Amazon order item with its Commerce order item (once known) and the units confirmed so far."""

    amazon_order_id: str
    order_item_id: str
    sku: str | None
    quantity_ordered: int
    quantity_confirmed: int
    commerce_order_item_id: int | None


def tracking_orders_by_commerce_id(
    bind: Engine | Connection, commerce_order_ids: Sequence[int], *, account: str = DEFAULT_ACCOUNT
) -> dict[int, TrackingOrder]:
    """The channel orders behind these Commerce orders, by Commerce order id (others are not Amazon orders)."""
    ids = sorted({int(i) for i in commerce_order_ids})
    found: dict[int, TrackingOrder] = {}
    with tx(bind) as conn:
        for chunk in chunks(ids):
            query = statement(conn, "select_tracking_orders_by_commerce_id", "ids")
            found.update(
                (order.commerce_order_id, order)
                for order in records(TrackingOrder, conn.execute(query, {"ids": chunk, "account": account}))
            )
    return found


def tracking_orders_by_amazon_id(
    bind: Engine | Connection, amazon_order_ids: Sequence[str], *, account: str = DEFAULT_ACCOUNT
) -> list[TrackingOrder]:
    """The given Amazon orders that have a Commerce order."""
    ids = sorted(set(amazon_order_ids))
    if not ids:
        return []
    with tx(bind) as conn:
        query = statement(conn, "select_tracking_orders_by_amazon_id", "ids")
        return records(TrackingOrder, conn.execute(query, {"ids": ids, "account": account}))


def oldest_imported_mfn_order(bind: Engine | Connection, *, account: str = DEFAULT_ACCOUNT) -> datetime | None:
    """When the oldest merchant-fulfilled order with a Commerce order was created on Amazon (None if none)."""
    with tx(bind) as conn:
        return conn.execute(statement(conn, "select_oldest_imported_mfn_order"), {"account": account}).scalar()


def tracking_items(bind: Engine | Connection, amazon_order_ids: Sequence[str]) -> dict[str, list[TrackingItem]]:
    """The items of these orders, by Amazon order id."""
    items: dict[str, list[TrackingItem]] = {}
    with tx(bind) as conn:
        for chunk in chunks(sorted(set(amazon_order_ids))):
            query = statement(conn, "select_tracking_items", "ids")
            for item in records(TrackingItem, conn.execute(query, {"ids": chunk})):
                items.setdefault(item.amazon_order_id, []).append(item)
    return items


def set_commerce_item_ids(bind: Engine | Connection, links: Sequence[tuple[str, str, int]]) -> None:
    """Store ``(amazon_order_id, order_item_id, commerce_order_item_id)`` links in one batched statement."""
    if not links:
        return
    rows = [{"amazon_order_id": a, "order_item_id": i, "commerce_order_item_id": int(c)} for a, i, c in links]
    with tx(bind) as conn:
        conn.execute(statement(conn, "update_commerce_item_id"), rows)
