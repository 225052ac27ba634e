"""Orders: create, get, search, cancel, hold/unhold, comments, statuses, order items, and Magento's state rules.

``PUT /V1/orders/create`` behaves like ``OrderRepository::save`` for a new
order: it stores what it is given (no total is recalculated), requires items
whose SKUs exist in the catalogue, assigns ``entity_id`` and, when absent, an
``increment_id`` from the store's sequence, enforces ``(increment_id,
store_id)`` uniqueness, validates addresses as Magento's order address
validator does, and defaults ``state``/``status`` to ``new``/``pending``. It
sends no e-mail: Magento's repository never does; the sandbox records a
``new_order`` e-mail only when the entity carries a truthy ``send_email`` (the
flag Magento's asynchronous order mailer reads).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from sandbox.commerce import schema
from sandbox.commerce.common import (
    DEFAULT_STATUS,
    add_history,
    array,
    get_row,
    load_one,
    money,
    next_increment_id,
    obj,
    pick,
    record_email,
    shape,
    street_in,
    street_out,
    to_bool,
    to_float,
    to_int,
    to_str,
)
from sandbox.commerce.errors import PRODUCT_MISSING, MagentoError, bad_request, not_found, required
from sandbox.commerce.search_criteria import SearchCriteria, flat_fields, parse_datetime, run_search
from sandbox.commerce.stores import base_currency, display_currency

_O = schema.sales_order
_I = schema.sales_order_item
_ADDR = schema.sales_order_address
_PAY = schema.sales_order_payment
_H = schema.sales_order_status_history
_GIFT = schema.gift_message

FIELDS = flat_fields(_O)
ITEM_FIELDS = flat_fields(_I)
DUPLICATE = "Unique constraint violation found"
#: Magento's order address validator: keys that must be present (value may be empty).
_ADDRESS_REQUIRED = [
    ("postcode", "Zip code"), ("lastname", "Last name"), ("street", "Street"), ("city", "City"), ("email", "Email"),
    ("country_id", "Country"), ("firstname", "First Name"), ("telephone", "Phone Number"),
]  # fmt: skip

# --- quantities and Magento's can*() predicates -------------------------------------------------------


def _q(item: dict[str, Any], key: str) -> float:
    return float(item.get(key) or 0)


def qty_to_invoice(item: dict[str, Any]) -> float:
    return max(_q(item, "qty_ordered") - _q(item, "qty_invoiced") - _q(item, "qty_canceled"), 0.0)


def qty_to_ship(item: dict[str, Any]) -> float:
    return max(
        _q(item, "qty_ordered") - _q(item, "qty_shipped") - _q(item, "qty_refunded") - _q(item, "qty_canceled"), 0.0
    )


def qty_to_refund(item: dict[str, Any]) -> float:
    return max(_q(item, "qty_invoiced") - _q(item, "qty_refunded"), 0.0)


def qty_to_cancel(item: dict[str, Any]) -> float:
    return max(min(qty_to_invoice(item), qty_to_ship(item)), 0.0)


def can_invoice(order: dict[str, Any], items: list[dict[str, Any]]) -> bool:
    if order["state"] in ("canceled", "complete", "closed", "holded", "payment_review"):
        return False
    return any(qty_to_invoice(i) > 0 and not i.get("locked_do_invoice") for i in items)


def can_ship(order: dict[str, Any], items: list[dict[str, Any]]) -> bool:
    if order["state"] in ("holded", "payment_review", "canceled") or order.get("is_virtual"):
        return False
    return any(
        qty_to_ship(i) > 0
        and not i.get("is_virtual")
        and not i.get("locked_do_ship")
        and _q(i, "qty_refunded") != _q(i, "qty_ordered")
        for i in items
    )


def can_creditmemo(order: dict[str, Any], items: list[dict[str, Any]]) -> bool:
    if order["state"] in ("holded", "payment_review", "canceled", "closed"):
        return False
    if abs(money(order.get("grand_total"))) < 0.0001:
        return any(qty_to_refund(i) > 0 for i in items)
    remaining = money(order.get("total_paid")) - money(order.get("total_refunded"))
    # Magento 2.4: what is left is exactly the adjustment fee kept by earlier credit memos -> nothing to refund
    return remaining > 0.0001 and abs(remaining - money(order.get("adjustment_negative"))) >= 0.0001


def can_cancel(order: dict[str, Any], items: list[dict[str, Any]]) -> bool:
    if order["state"] in ("holded", "payment_review", "canceled", "complete", "closed"):
        return False
    return any(qty_to_invoice(i) > 0 for i in items)  # all invoiced -> refund instead


def resolve_state(order: dict[str, Any], items: list[dict[str, Any]], in_progress: bool) -> str:
    """``OrderStateResolver::getStateForOrder``: processing once worked on, complete/closed when done."""
    state = order["state"]
    if state == "new" and in_progress:
        state = "processing"
    if state not in ("canceled", "holded") and not can_invoice(order, items):
        if state in ("processing", "complete") and not can_creditmemo(order, items) and not can_ship(order, items):
            state = "closed"
        elif state == "processing" and not can_ship(order, items):
            state = "complete"
    return state


def load_for_update(conn: Connection, order_id: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The order row (locked for the transaction) and its items; 404 when absent."""
    key = to_int_or_none(order_id)
    order = dict(get_row(conn, _O, "entity_id", key, lock=True))
    items = [dict(r) for r in conn.execute(select(_I).where(_I.c.order_id == key).order_by(_I.c.item_id)).mappings()]
    return order, items


def to_int_or_none(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def set_state(conn: Connection, now: datetime, order: dict[str, Any], state: str, values: dict[str, Any],
              default_status: bool = False) -> str:  # fmt: skip
    """Write order changes plus the new state and its status; returns the status.

    The status moves to the state's default when the state changes, or always with ``default_status``
    (Magento's invoice and refund services reset it).
    """
    keep = state == order["state"] and not default_status
    status = order["status"] if keep else DEFAULT_STATUS.get(state, state)
    conn.execute(
        update(_O)
        .where(_O.c.entity_id == order["entity_id"])
        .values(**values, state=state, status=status, updated_at=now)
    )
    order.update(values, state=state, status=status)
    return status


# --- create ------------------------------------------------------------------------------------------

#: Order fields a save of an existing order (``entity_id`` given) may change in the sandbox; Magento's
#: repository saves whatever it is given, the sandbox limits it to the customer details and notes.
UPDATABLE_FIELDS = ("customer_email", "customer_firstname", "customer_lastname", "customer_middlename", "customer_note")


def _save_existing(conn: Connection, now: datetime, entity: dict[str, Any]) -> int:
    """``OrderRepository::save`` of a loaded order: writes the given customer fields, nothing else."""
    order, _ = load_for_update(conn, entity["entity_id"])
    unsupported = sorted(k for k in entity if k not in ("entity_id", *UPDATABLE_FIELDS))
    if unsupported:
        raise bad_request(
            f"The sandbox saves only {', '.join(UPDATABLE_FIELDS)} on an existing order; got {', '.join(unsupported)}."
        )
    values = {k: to_str(entity[k], k) for k in UPDATABLE_FIELDS if k in entity}
    if values:
        conn.execute(update(_O).where(_O.c.entity_id == order["entity_id"]).values(**values, updated_at=now))
    return int(order["entity_id"])


def _address(data: Any, address_type: str) -> dict[str, Any]:
    address = obj(data, f"{address_type}_address")
    warnings = [
        f'"{label}" is required. Enter and try again.' for key, label in _ADDRESS_REQUIRED if key not in address
    ]
    if address.get("address_type") not in (None, "", address_type):
        warnings.append("Address type doesn't match required options")
    if warnings:
        raise bad_request("We can't save the address:\n%1", ["\n".join(warnings)])
    row = pick(
        address, schema.ORDER_ADDRESS_STRINGS, ["customer_address_id", "quote_address_id", "region_id", "customer_id"]
    )
    row.update(address_type=address_type, street=street_in(address.get("street")))
    return row


def create(conn: Connection, now: datetime, request: dict[str, Any], store: dict[str, Any]) -> int:
    """Save a new order as ``OrderRepository::save`` does; returns its entity id."""
    entity = request.get("entity")
    if not isinstance(entity, dict):
        raise required("entity")
    if entity.get("entity_id"):
        return _save_existing(conn, now, entity)
    items = [obj(i, "items") for i in array(entity.get("items"), "items")]
    if not items:
        raise required("items")
    if not entity.get("customer_email"):
        raise required("customer_email")
    for item in items:
        if not item.get("sku"):
            raise required("sku")
        if not to_float(item.get("qty_ordered"), "qty_ordered"):
            raise required("qty_ordered")
    skus = {str(i["sku"]) for i in items}
    products = {
        r.sku: r
        for r in conn.execute(
            select(schema.catalog_product_entity).where(schema.catalog_product_entity.c.sku.in_(skus))
        )
    }
    if skus - set(products):
        raise not_found_product()

    store_id = to_int(entity.get("store_id"), "store_id")
    if store_id is None:
        store_id = store["store_id"] or 1
    store_row = conn.execute(select(schema.store).where(schema.store.c.store_id == store_id)).mappings().first()
    if store_row is None:
        raise not_found("The store that was requested wasn't found. Verify the store and try again.")
    customer_id = to_int(entity.get("customer_id"), "customer_id")
    if customer_id is not None:
        customer = schema.customer_entity
        if conn.execute(select(customer.c.entity_id).where(customer.c.entity_id == customer_id)).first() is None:
            raise MagentoError(
                404,
                "No such entity with %fieldName = %fieldValue",
                {"fieldName": "customerId", "fieldValue": str(customer_id)},
            )

    extension = obj(entity.get("extension_attributes"), "extension_attributes")
    assignments = array(extension.get("shipping_assignments"), "shipping_assignments")
    shipping = obj(obj(assignments[0], "shipping_assignments").get("shipping"), "shipping") if assignments else {}
    billing = _address(entity["billing_address"], "billing") if entity.get("billing_address") else None
    ship_to = _address(shipping["address"], "shipping") if shipping.get("address") else None

    values = pick(entity, schema.ORDER_STRINGS, schema.ORDER_INTS, schema.ORDER_DECIMALS)
    for key in ("send_email", "total_item_count", "billing_address_id", "shipping_address_id", "quote_address_id"):
        values.pop(key, None)
    currency, base = display_currency(conn, store_id), base_currency(conn, store_id)
    state = values.get("state") or "new"
    values.update(
        store_id=store_id,
        customer_id=customer_id,
        ext_order_id=to_str(entity.get("ext_order_id"), "ext_order_id"),
        state=state,
        status=values.get("status") or DEFAULT_STATUS.get(state, state),
        customer_is_guest=_default(values.get("customer_is_guest"), int(customer_id is None)),
        customer_group_id=_default(values.get("customer_group_id"), 0 if customer_id is None else 1),
        store_name=values.get("store_name") or store_row["name"],
        order_currency_code=values.get("order_currency_code") or currency,
        store_currency_code=values.get("store_currency_code") or currency,
        base_currency_code=values.get("base_currency_code") or base,
        global_currency_code=values.get("global_currency_code") or base_currency(conn, 0),
        shipping_method=to_str(shipping.get("method"), "method") or values.get("shipping_method"),
        send_email=int(to_bool(entity.get("send_email"))),
        total_item_count=sum(1 for i in items if not i.get("parent_item_id")),
        total_qty_ordered=values.get("total_qty_ordered")
        or sum(to_float(i.get("qty_ordered"), "qty_ordered") for i in items),
        grand_total=values.get("grand_total") or 0.0,
        base_grand_total=values.get("base_grand_total", values.get("grand_total")) or 0.0,
        created_at=parse_datetime(str(entity["created_at"])) if entity.get("created_at") else now,
        updated_at=now,
    )
    values.setdefault("total_due", money(values["grand_total"]) - money(values.get("total_paid")))
    values.setdefault("base_total_due", money(values["base_grand_total"]) - money(values.get("base_total_paid")))
    increment_id = to_str(entity.get("increment_id"), "increment_id")
    if increment_id:
        taken = conn.execute(
            select(_O.c.entity_id).where(_O.c.increment_id == increment_id, _O.c.store_id == store_id)
        ).first()
        if taken:
            raise bad_request(DUPLICATE)
    else:
        increment_id = next_increment_id(conn, "order", store_id)
    values["increment_id"] = increment_id
    try:
        order_id = conn.execute(insert(_O), dict(**values)).inserted_primary_key[0]
    except IntegrityError:
        raise bad_request(DUPLICATE) from None

    order_gift = _save_gift_message(conn, extension.get("gift_message"), customer_id)
    if order_gift is not None:
        conn.execute(update(_O).where(_O.c.entity_id == order_id).values(gift_message_id=order_gift))
    for item in items:
        product = products[str(item["sku"])]
        row = pick(item, schema.ITEM_STRINGS, schema.ITEM_INTS, schema.ITEM_DECIMALS)
        item_extension = obj(item.get("extension_attributes"), "extension_attributes")
        row["gift_message_id"] = _save_gift_message(conn, item_extension.get("gift_message"), customer_id)
        row.update(order_id=order_id, sku=str(item["sku"]), store_id=store_id, created_at=now, updated_at=now)
        row["product_id"] = row.get("product_id") or product.entity_id
        row["name"] = row.get("name") or product.name
        row["product_type"] = row.get("product_type") or product.type_id
        for key in ("qty_invoiced", "qty_shipped", "qty_refunded", "qty_canceled"):
            row[key] = row.get(key) or 0.0
        conn.execute(insert(_I), dict(**row))

    address_ids: dict[str, int] = {}
    for address in (billing, ship_to):
        if address is not None:
            address.update(parent_id=order_id, customer_id=address.get("customer_id") or customer_id)
            address_ids[f"{address['address_type']}_address_id"] = conn.execute(
                insert(_ADDR), dict(**address)
            ).inserted_primary_key[0]
    if address_ids:
        conn.execute(update(_O).where(_O.c.entity_id == order_id).values(**address_ids))

    payment = obj(entity.get("payment"), "payment")
    if payment:
        row = pick(payment, schema.PAYMENT_STRINGS, [], schema.PAYMENT_DECIMALS)
        info = array(payment.get("additional_information"), "additional_information")
        row.update(
            parent_id=order_id,
            additional_information=json.dumps([str(v) for v in info]),
            amount_ordered=row.get("amount_ordered", values["grand_total"]),
            base_amount_ordered=row.get("base_amount_ordered", values["base_grand_total"]),
            shipping_amount=row.get("shipping_amount", values.get("shipping_amount")),
            base_shipping_amount=row.get("base_shipping_amount", values.get("base_shipping_amount")),
        )
        conn.execute(insert(_PAY), dict(**row))

    histories = [obj(h, "status_histories") for h in array(entity.get("status_histories"), "status_histories")]
    for history in histories:
        add_history(
            conn, now, order_id, to_str(history.get("comment"), "comment") or "",
            to_str(history.get("status"), "status") or values["status"], to_bool(history.get("is_customer_notified")),
            entity_name=to_str(history.get("entity_name"), "entity_name") or "order",
            visible=to_bool(history.get("is_visible_on_front")),
        )  # fmt: skip
    if not histories:
        add_history(conn, now, order_id, "Order created through the REST API.", values["status"], False)
    if values["send_email"]:
        record_email(
            conn,
            now,
            "new_order",
            values["customer_email"],
            store_id,
            {"entity_id": order_id, "increment_id": increment_id},
            order_id,
        )
        conn.execute(update(_O).where(_O.c.entity_id == order_id).values(email_sent=1))
    return order_id


def _save_gift_message(conn: Connection, data: Any, customer_id: int | None) -> int | None:
    """Store a ``gift-message-data-message-interface`` (sender, recipient and message required); its id, or None."""
    if data is None:
        return None
    message = obj(data, "gift_message")
    for key in ("sender", "recipient", "message"):
        if to_str(message.get(key), key) is None:
            raise required(key)
    values = {key: to_str(message[key], key) for key in ("sender", "recipient", "message")}
    return conn.execute(insert(_GIFT), dict(**values, customer_id=customer_id)).inserted_primary_key[0]


def _gift_messages(conn: Connection, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Gift messages by id, as ``gift-message-data-message-interface``."""
    if not ids:
        return {}
    rows = conn.execute(select(_GIFT).where(_GIFT.c.gift_message_id.in_(sorted(ids)))).mappings()
    return {r["gift_message_id"]: shape(r) for r in rows}


def _default(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


def not_found_product() -> MagentoError:
    """The brief's contract: an unknown SKU is a 400 with ProductRepository's message."""
    return bad_request(PRODUCT_MISSING)


# --- output ------------------------------------------------------------------------------------------

_ADDRESS_REQUIRED_OUT = ("address_type", "city", "country_id", "firstname", "lastname", "postcode", "telephone")


def _address_out(row: dict[str, Any]) -> dict[str, Any]:
    out = shape(row, skip=("street",))
    out["street"] = street_out(row["street"])
    for key in _ADDRESS_REQUIRED_OUT:
        out.setdefault(key, "")
    return out


def _payment_out(row: dict[str, Any]) -> dict[str, Any]:
    out = shape(row, skip=("additional_information",))
    out["additional_information"] = json.loads(row["additional_information"] or "[]")
    for key in ("account_status", "cc_last4", "method"):
        out.setdefault(key, "")
    return out


def history_out(row: dict[str, Any]) -> dict[str, Any]:
    out = shape(row)
    out.setdefault("comment", "")
    out.setdefault("is_customer_notified", 0)
    return out


def _item_out(row: dict[str, Any], gifts: dict[int, dict[str, Any]]) -> dict[str, Any]:
    out = shape(row, skip=("gift_message_id",))
    if row.get("gift_message_id") in gifts:
        out["extension_attributes"] = {"gift_message": gifts[row["gift_message_id"]]}
    return out


def _order_out(
    order: dict[str, Any],
    items: list,
    addresses: list,
    payment: dict | None,
    histories: list,
    gifts: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    out = shape(order, skip=("send_email", "shipping_address_id", "shipping_method", "gift_message_id"))
    out.setdefault("customer_email", "")
    out["items"] = [_item_out(i, gifts) for i in items]
    by_type = {a["address_type"]: a for a in addresses}
    if "billing" in by_type:
        out["billing_address"] = _address_out(by_type["billing"])
    if payment is not None:
        out["payment"] = _payment_out(payment)
    out["status_histories"] = [history_out(h) for h in histories]
    extension: dict[str, Any] = {}
    if "shipping" in by_type or order.get("shipping_method"):
        shipping: dict[str, Any] = {
            "total": shape({k: order.get(k) for k in (
                "shipping_amount", "base_shipping_amount", "shipping_incl_tax", "base_shipping_incl_tax",
                "shipping_tax_amount", "base_shipping_tax_amount", "shipping_invoiced", "base_shipping_invoiced",
                "shipping_refunded", "base_shipping_refunded", "shipping_canceled", "base_shipping_canceled",
                "shipping_discount_amount", "base_shipping_discount_amount")})
        }  # fmt: skip
        if "shipping" in by_type:
            shipping["address"] = _address_out(by_type["shipping"])
        if order.get("shipping_method"):
            shipping["method"] = order["shipping_method"]
        extension["shipping_assignments"] = [{"shipping": shipping, "items": out["items"]}]
    if payment is not None:
        info = json.loads(payment["additional_information"] or "[]")
        extension["payment_additional_info"] = [{"key": str(k), "value": str(v)} for k, v in enumerate(info)]
    if order.get("gift_message_id") in gifts:
        extension["gift_message"] = gifts[order["gift_message_id"]]
    out["extension_attributes"] = extension
    return out


def load_orders(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Orders with items, addresses, payment and status histories, in the order given."""
    ids = [r["entity_id"] for r in rows]
    items: dict[int, list] = {i: [] for i in ids}
    addresses: dict[int, list] = {i: [] for i in ids}
    payments: dict[int, dict] = {}
    histories: dict[int, list] = {i: [] for i in ids}
    if ids:
        for r in conn.execute(select(_I).where(_I.c.order_id.in_(ids)).order_by(_I.c.item_id)).mappings():
            items[r["order_id"]].append(dict(r))
        for r in conn.execute(select(_ADDR).where(_ADDR.c.parent_id.in_(ids)).order_by(_ADDR.c.entity_id)).mappings():
            addresses[r["parent_id"]].append(dict(r))
        for r in conn.execute(select(_PAY).where(_PAY.c.parent_id.in_(ids)).order_by(_PAY.c.entity_id)).mappings():
            payments.setdefault(r["parent_id"], dict(r))
        order = [_H.c.created_at.desc(), _H.c.entity_id.desc()]
        for r in conn.execute(select(_H).where(_H.c.parent_id.in_(ids)).order_by(*order)).mappings():
            histories[r["parent_id"]].append(dict(r))
    gift_ids = {r["gift_message_id"] for r in rows if r.get("gift_message_id")}
    gift_ids |= {i["gift_message_id"] for found in items.values() for i in found if i.get("gift_message_id")}
    gifts = _gift_messages(conn, gift_ids)
    return [
        _order_out(
            dict(r),
            items[r["entity_id"]],
            addresses[r["entity_id"]],
            payments.get(r["entity_id"]),
            histories[r["entity_id"]],
            gifts,
        )
        for r in rows
    ]


def get(conn: Connection, order_id: Any) -> dict[str, Any]:
    """``GET /V1/orders/{id}``."""
    return load_one(conn, _O, order_id, load_orders)


def search(conn: Connection, criteria: SearchCriteria) -> dict[str, Any]:
    """``GET /V1/orders``."""
    return run_search(conn, _O, FIELDS, criteria, load_orders)


def load_items(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order items as ``OrderItemRepository`` outputs them."""
    gifts = _gift_messages(conn, {r["gift_message_id"] for r in rows if r.get("gift_message_id")})
    return [_item_out(dict(r), gifts) for r in rows]


def get_item(conn: Connection, item_id: Any) -> dict[str, Any]:
    """``GET /V1/orders/items/{id}``."""
    return load_one(conn, _I, item_id, load_items)


def search_items(conn: Connection, criteria: SearchCriteria) -> dict[str, Any]:
    """``GET /V1/orders/items``: searchCriteria over ``sales_order_item`` (``item_id`` breaks ties)."""
    return run_search(conn, _I, ITEM_FIELDS, criteria, load_items)


# --- management: cancel, comments, status -------------------------------------------------------------


def cancel(conn: Connection, now: datetime, order_id: Any) -> bool:
    """``OrderManagement::cancel``: ``true`` when canceled, ``false`` when Magento cannot cancel it."""
    order, items = load_for_update(conn, order_id)
    if not can_cancel(order, items):
        return False
    state = "canceled"
    for item in items:
        if state != "processing" and qty_to_refund(item) > 0:
            state = "processing" if qty_to_ship(item) > 0 else "complete"
        canceled = qty_to_cancel(item)
        ratio = canceled / _q(item, "qty_ordered") if _q(item, "qty_ordered") else 0
        conn.execute(
            update(_I)
            .where(_I.c.item_id == item["item_id"])
            .values(
                qty_canceled=_q(item, "qty_canceled") + canceled,
                tax_canceled=money(item.get("tax_amount")) * ratio,
                updated_at=now,
            )
        )
    grand, paid = money(order.get("grand_total")), money(order.get("total_paid"))
    base_grand, base_paid = money(order.get("base_grand_total")), money(order.get("base_total_paid"))
    values = {
        "subtotal_canceled": money(order.get("subtotal")) - money(order.get("subtotal_invoiced")),
        "base_subtotal_canceled": money(order.get("base_subtotal")) - money(order.get("base_subtotal_invoiced")),
        "tax_canceled": money(order.get("tax_amount")) - money(order.get("tax_invoiced")),
        "base_tax_canceled": money(order.get("base_tax_amount")) - money(order.get("base_tax_invoiced")),
        "shipping_canceled": money(order.get("shipping_amount")) - money(order.get("shipping_invoiced")),
        "base_shipping_canceled": money(order.get("base_shipping_amount")) - money(order.get("base_shipping_invoiced")),
        "discount_canceled": abs(money(order.get("discount_amount"))) - abs(money(order.get("discount_invoiced"))),
        "base_discount_canceled": abs(money(order.get("base_discount_amount")))
        - abs(money(order.get("base_discount_invoiced"))),
        "total_canceled": grand - paid,
        "base_total_canceled": base_grand - base_paid,
    }
    status = set_state(conn, now, order, state, values)
    payment = conn.execute(select(_PAY.c.entity_id).where(_PAY.c.parent_id == order["entity_id"])).first()
    if payment:
        conn.execute(
            update(_PAY)
            .where(_PAY.c.entity_id == payment[0])
            .values(amount_canceled=grand - paid, base_amount_canceled=base_grand - base_paid)
        )
    add_history(conn, now, order["entity_id"], "", status, False)
    return True


def hold(conn: Connection, now: datetime, order_id: Any) -> bool:
    """``OrderManagement::hold``: remembers state and status, then ``holded``; refused where ``canHold()`` is false."""
    order, _ = load_for_update(conn, order_id)
    if order["state"] in ("canceled", "payment_review", "complete", "closed", "holded"):
        raise bad_request("A hold action is not available.")
    set_state(conn, now, order, "holded", {"hold_before_state": order["state"], "hold_before_status": order["status"]})
    return True


def unhold(conn: Connection, now: datetime, order_id: Any) -> bool:
    """``OrderManagement::unhold``: back to the state and status the order had before the hold."""
    order, _ = load_for_update(conn, order_id)
    if order["state"] != "holded":
        raise bad_request("You cannot remove the hold.")
    conn.execute(
        update(_O)
        .where(_O.c.entity_id == order["entity_id"])
        .values(
            state=order["hold_before_state"],
            status=order["hold_before_status"],
            hold_before_state=None,
            hold_before_status=None,
            updated_at=now,
        )
    )
    return True


def add_comment(conn: Connection, now: datetime, order_id: Any, request: dict[str, Any]) -> bool:
    """``OrderManagement::addComment``; a customer-notified comment e-mails the buyer."""
    history = request.get("statusHistory", request.get("status_history"))
    if not isinstance(history, dict):
        raise required("statusHistory")
    order, _ = load_for_update(conn, order_id)
    status = to_str(history.get("status"), "status")
    if status and status != order["status"]:
        raise bad_request('Unable to add comment: The status "%1" is not part of the order status history.', [status])
    notify = to_bool(history.get("is_customer_notified"))
    comment = to_str(history.get("comment"), "comment") or ""
    add_history(conn, now, order["entity_id"], comment, order["status"], notify,
                entity_name=to_str(history.get("entity_name"), "entity_name") or "order",
                visible=to_bool(history.get("is_visible_on_front")))  # fmt: skip
    conn.execute(update(_O).where(_O.c.entity_id == order["entity_id"]).values(updated_at=now))
    if notify:
        record_email(conn, now, "order_comment", order["customer_email"], order["store_id"], order)
    return True


def comments(conn: Connection, order_id: Any) -> dict[str, Any]:
    """``OrderManagement::getCommentsList``: a search result filtered on ``parent_id``."""
    key = to_int_or_none(order_id)
    rows = conn.execute(
        select(_H).where(_H.c.parent_id == key).order_by(_H.c.created_at.desc(), _H.c.entity_id.desc())
    ).mappings()
    items = [history_out(dict(r)) for r in rows]
    criteria = {
        "filter_groups": [{"filters": [{"field": "parent_id", "value": str(order_id), "condition_type": "eq"}]}]
    }
    return {"items": items, "search_criteria": criteria, "total_count": len(items)}


def status(conn: Connection, order_id: Any) -> str:
    row = conn.execute(select(_O.c.status).where(_O.c.entity_id == to_int_or_none(order_id))).first()
    if row is None:
        raise not_found()
    return row.status
