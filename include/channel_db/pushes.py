"""Shipment pushes: the Amazon packages of the tracking push, their confirmations, and closing fully confirmed orders.

``channel_shipment_push``: one row per Amazon package (one Commerce tracking
number), keyed by Amazon order id and packageReferenceId. status: pending ->
confirmed | failed (retried) | refused (kept); skipped = cannot be built; held =
not sent because the Commerce order is on hold (sent once it is released).
``channel_order_completion``: fully confirmed orders and whether their Commerce
order was closed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping

from include.channel_db.statements import DEFAULT_ACCOUNT, chunks, records, select_records, statement, tx
from include.channel_db.types import now_utc
from include.domain.tracking import Package, items_from_json

PUSH_STATUSES = ("pending", "confirmed", "failed", "refused", "skipped", "held")
COMPLETION_STATUSES = ("completed", "failed", "skipped")
#: The columns a package's content is made of (changed content is stored again and re-sent).
_CONTENT = ("carrier_code", "carrier_name", "shipping_method", "tracking_number", "ship_date", "items", "status",
            "last_error")  # fmt: skip


def _marketplace(row: RowMapping) -> str | None:
    """The order's marketplace, where the statement reads it (packages to send)."""
    return row.get("marketplace_id")


def _items(row: RowMapping) -> tuple[tuple[str, int], ...]:
    return items_from_json(row["items"])


def shipment_pushes(bind: Engine | Connection, amazon_order_ids: Sequence[str]) -> list[Package]:
    """Every recorded package of these orders, in order, shipment and track order."""
    pushes: list[Package] = []
    with tx(bind) as conn:
        for chunk in chunks(sorted(set(amazon_order_ids))):
            result = conn.execute(statement(conn, "select_shipment_pushes", "ids"), {"ids": chunk})
            pushes.extend(records(Package, result, marketplace_id=_marketplace, items=_items))
    return pushes


def _push_row(package: Package) -> dict[str, Any]:
    """The key and content parameters of a package."""
    return {
        "amazon_order_id": package.amazon_order_id,
        "package_reference_id": str(package.package_reference_id),
        **{name: getattr(package, name) for name in _CONTENT},
        "items": package.items_json(),
        "last_error": (package.last_error or None) and package.last_error[:1000],
    }


def save_shipment_pushes(
    bind: Engine | Connection,
    new: Sequence[Package],
    changed: Sequence[Package],
    *,
    now: datetime | None = None,
    account: str = DEFAULT_ACCOUNT,
) -> None:
    """Insert packages seen for the first time (recorded as ``account``'s) and store the new content of changed ones, in one transaction.

    A package is saved as built (``status`` pending or skipped, ``last_error`` the
    skip reason); attempt counters and confirmation times already recorded are kept.
    """
    if not new and not changed:
        return
    for push in (*new, *changed):
        if push.status not in ("pending", "skipped"):
            raise ValueError(f"a package is saved as pending or skipped, not {push.status!r}")
    stamp = now or now_utc()
    with tx(bind) as conn:
        if new:
            rows = [
                {
                    **_push_row(push),
                    "commerce_order_id": push.commerce_order_id,
                    "commerce_shipment_id": int(push.commerce_shipment_id),
                    "commerce_track_id": int(push.commerce_track_id),
                    "now": stamp,
                    "account": account,
                }
                for push in new
            ]
            conn.execute(statement(conn, "insert_shipment_push"), rows)
        if changed:
            conn.execute(statement(conn, "update_shipment_push_content"), [_push_row(push) for push in changed])


def pushes_to_send(
    bind: Engine | Connection,
    *,
    only_ids: Sequence[str] | None = None,
    limit: int | None = None,
    resend_refused: bool = False,
    account: str = DEFAULT_ACCOUNT,
) -> list[Package]:
    """Pending, failed and held packages (with the order's marketplace), by order, shipment and track; with
    ``resend_refused`` and ``only_ids``, those orders' refused packages too."""
    return select_records(
        bind,
        "select_pushes_to_send",
        Package,
        only_ids=only_ids,
        limit=limit,
        params={"resend_refused": int(resend_refused), "account": account},
        marketplace_id=_marketplace,
        items=_items,
    )


def record_push_result(
    bind: Engine | Connection,
    amazon_order_id: str,
    package_reference_id: str,
    status: str,
    *,
    error: str | None = None,
    now: datetime | None = None,
) -> None:
    """Record one confirmShipment outcome (``confirmed``, ``failed`` or ``refused``) and count the attempt."""
    if status not in ("confirmed", "failed", "refused"):
        raise ValueError(f"a push result is confirmed, failed or refused, not {status!r}")
    stamp = now or now_utc()
    params = {
        "amazon_order_id": amazon_order_id,
        "package_reference_id": str(package_reference_id),
        "status": status,
        "last_error": (error or "unknown error")[:1000] if status != "confirmed" else None,
        "now": stamp,
        "confirmed_at": stamp if status == "confirmed" else None,
    }
    with tx(bind) as conn:
        if conn.execute(statement(conn, "record_push_result"), params).rowcount == 0:
            raise LookupError(f"no recorded package {package_reference_id} of Amazon order {amazon_order_id}")


def record_push_held(
    bind: Engine | Connection,
    amazon_order_id: str,
    package_reference_id: str,
    reason: str,
    *,
    now: datetime | None = None,
) -> None:
    """A package not sent because its Commerce order is on hold: status ``held`` with ``reason``; no attempt counted."""
    params = {
        "amazon_order_id": amazon_order_id,
        "package_reference_id": str(package_reference_id),
        "last_error": reason[:1000],
        "now": now or now_utc(),
    }
    with tx(bind) as conn:
        if conn.execute(statement(conn, "record_push_held"), params).rowcount == 0:
            raise LookupError(f"no recorded package {package_reference_id} of Amazon order {amazon_order_id}")


def refresh_confirmed_quantities(bind: Engine | Connection, amazon_order_ids: Sequence[str]) -> None:
    """Recompute ``quantity_confirmed`` of these orders' items from their confirmed packages, then the channel status.

    Idempotent (quantities are set, not incremented), so an edited package counts once.
    """
    with tx(bind) as conn:
        for chunk in chunks(sorted(set(amazon_order_ids))):
            confirmed: dict[tuple[str, str], int] = {}
            for row in conn.execute(statement(conn, "select_confirmed_push_items", "ids"), {"ids": chunk}).mappings():
                for item_id, qty in json.loads(row["items"] or "[]"):
                    key = (row["amazon_order_id"], str(item_id))
                    confirmed[key] = confirmed.get(key, 0) + int(qty)
            rows = []
            for row in conn.execute(statement(conn, "select_tracking_items", "ids"), {"ids": chunk}).mappings():
                key = (row["amazon_order_id"], row["order_item_id"])
                if int(row["quantity_confirmed"]) != confirmed.get(key, 0):
                    rows.append({"amazon_order_id": key[0], "order_item_id": key[1],
                                 "quantity_confirmed": confirmed.get(key, 0)})  # fmt: skip
            if rows:
                conn.execute(statement(conn, "update_quantity_confirmed"), rows)
            conn.execute(statement(conn, "update_channel_shipping_status", "ids"), {"ids": chunk})


@dataclass(frozen=True)
class OrderToComplete:
    """A merchant-fulfilled order whose every item Amazon has confirmed: its Commerce order is to be closed."""

    amazon_order_id: str
    commerce_order_id: int
    commerce_increment_id: str | None


def orders_to_complete(
    bind: Engine | Connection,
    *,
    only_ids: Sequence[str] | None = None,
    limit: int | None = None,
    account: str = DEFAULT_ACCOUNT,
) -> list[OrderToComplete]:
    """Fully confirmed orders whose Commerce order is not closed yet (new, or failed earlier)."""
    return select_records(
        bind, "select_orders_to_complete", OrderToComplete, only_ids=only_ids, limit=limit, params={"account": account}
    )


def record_completion(
    bind: Engine | Connection,
    amazon_order_id: str,
    commerce_order_id: int,
    status: str,
    *,
    error: str | None = None,
    now: datetime | None = None,
) -> None:
    """Record closing a fully confirmed order in Commerce: ``completed``, ``failed`` (retried) or ``skipped``."""
    if status not in COMPLETION_STATUSES:
        raise ValueError(f"a completion is {', '.join(COMPLETION_STATUSES)}, not {status!r}")
    stamp = now or now_utc()
    params = {
        "amazon_order_id": amazon_order_id,
        "commerce_order_id": int(commerce_order_id),
        "status": status,
        "last_error": (error or None) and error[:1000],
        "now": stamp,
        "completed_at": stamp if status == "completed" else None,
    }
    with tx(bind) as conn:
        conn.execute(statement(conn, "upsert_order_completion"), params)
