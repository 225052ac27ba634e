"""Helpers shared by the Commerce sandbox services: input coercion, output shaping, sequences, e-mails."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Connection, RowMapping

from sandbox.commerce import schema
from sandbox.commerce.errors import bad_request, not_found
from sandbox.commerce.stores import emails_disabled

#: Magento's default status of each order state.
DEFAULT_STATUS = {
    "new": "pending",
    "pending_payment": "pending_payment",
    "processing": "processing",
    "complete": "complete",
    "closed": "closed",
    "canceled": "canceled",
    "holded": "holded",
    "payment_review": "payment_review",
}


def fmt_dt(value: datetime | None) -> str | None:
    """Magento's ``Y-m-d H:i:s`` (UTC)."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else None


def shape(row: RowMapping | Mapping[str, Any], skip: Iterable[str] = ()) -> dict[str, Any]:
    """A row as Magento outputs a data object: ``None`` values left out, timestamps formatted."""
    skipped = set(skip)
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in skipped or value is None:
            continue
        out[key] = fmt_dt(value) if isinstance(value, datetime) else value
    return out


def _type_error(field: str, value: Any, kind: str) -> Exception:
    return bad_request(
        'Error occurred during "%field_name" processing. The "%value" value\'s type is invalid. '
        'The "%type" type was expected. Verify and try again.',
        {"field_name": field, "value": str(value), "type": kind},
    )


def to_int(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _type_error(field, value, "int") from None
    if number != int(number):
        raise _type_error(field, value, "int")
    return int(number)


def to_float(value: Any, field: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _type_error(field, value, "float")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _type_error(field, value, "float") from None


def to_str(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise _type_error(field, value, "string")
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value)


def to_bool(value: Any) -> bool:
    """Magento's boolean coercion for request values (``true``, ``1``, ``"true"``, ``"1"``)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def pick(
    data: Mapping[str, Any], strings: Iterable[str] = (), ints: Iterable[str] = (), decimals: Iterable[str] = ()
) -> dict[str, Any]:
    """The given keys of a request object, coerced to their column types."""
    out: dict[str, Any] = {}
    for key in strings:
        if key in data:
            out[key] = to_str(data[key], key)
    for key in ints:
        if key in data:
            out[key] = to_int(data[key], key)
    for key in decimals:
        if key in data:
            out[key] = to_float(data[key], key)
    return out


def obj(data: Any, field: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _type_error(field, data, "object")
    return data


def array(data: Any, field: str) -> list[Any]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise _type_error(field, data, "array")
    return data


def street_out(value: str | None) -> list[str]:
    return value.split("\n") if value else []


def street_in(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def next_increment_id(conn: Connection, entity: str, store_id: int) -> str:
    """Magento's sequence: insert into ``sequence_<entity>_<store>``, format prefix + 9 digits."""
    table = schema.sequences.get((entity, store_id))
    if table is None:
        table = schema.sequences[(entity, 1)]
    value = conn.execute(insert(table)).inserted_primary_key[0]
    return f"{schema.increment_prefix(store_id)}{value:09d}"


def get_row(conn: Connection, table: Table, key: str, value: Any, lock: bool = False) -> RowMapping:
    stmt = select(table).where(table.c[key] == value)
    if lock:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    if row is None:
        raise not_found()
    return row


def load_one(conn: Connection, table: Table, entity_id: Any,
             load: Callable[[Connection, list[RowMapping]], list[dict[str, Any]]]) -> dict[str, Any]:  # fmt: skip
    """A sales repository's ``get($id)``: 400 for id 0 (Magento's "An ID is needed"), 404 when absent."""
    try:
        key = int(entity_id)
    except (TypeError, ValueError):
        raise not_found() from None
    if key == 0:
        raise bad_request("An ID is needed. Set the ID and try again.")
    primary_key = next(iter(table.primary_key.columns))
    row = conn.execute(select(table).where(primary_key == key)).mappings().first()
    if row is None:
        raise not_found()
    return load(conn, [row])[0]


def record_email(conn: Connection, now: datetime, kind: str, email: str | None, store_id: int | None,
                 order: Mapping[str, Any] | None = None, entity_id: int | None = None,
                 sending_store_id: int | None = None) -> bool:  # fmt: skip
    """Remember an e-mail Magento would have sent (``GET /_sandbox/notifications``); False when it sends none.

    Magento's ``TransportInterfacePlugin`` drops every e-mail while "Disable Email Communications"
    (``system/smtp/disable``) is set for the current store: the order's store for sales e-mails (their
    senders emulate it), the request's store view for account e-mails (``sending_store_id``).
    """
    if emails_disabled(conn, store_id if sending_store_id is None else sending_store_id):
        return False
    conn.execute(
        insert(schema.sandbox_notification),
        dict(
            type=kind,
            email=email,
            store_id=store_id,
            order_id=order["entity_id"] if order else None,
            order_increment_id=order["increment_id"] if order else None,
            entity_id=entity_id,
            created_at=now,
        ),
    )
    return True


def add_history(conn: Connection, now: datetime, order_id: int, comment: str, status: str | None,
                notified: bool | None, entity_name: str = "order", visible: bool = False) -> int:  # fmt: skip
    """Append a row to ``sales_order_status_history``."""
    return conn.execute(
        insert(schema.sales_order_status_history),
        dict(
            parent_id=order_id,
            comment=comment,
            status=status,
            is_customer_notified=None if notified is None else int(notified),
            is_visible_on_front=int(visible),
            entity_name=entity_name,
            created_at=now,
        ),
    ).inserted_primary_key[0]


def money(value: float | None) -> float:
    return round(float(value or 0), 4)


def fmt_price(amount: float, currency: str | None) -> str:
    return f"{currency or ''}{' ' if currency else ''}{amount:,.2f}"
