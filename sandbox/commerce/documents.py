"""Invoices, shipments (with tracks) and credit memos, as Magento's ``InvoiceOrder``,
``ShipOrder`` and ``RefundOrder`` services create them.

All three validate like Magento (the order state, then quantities) and fail
with ``"<Document> Document Validation Error(s):\\n<messages>"`` (HTTP 400).
Invoices are captured offline (the order is paid), credit memos are offline.
Each updates the order's quantities and totals, moves the order through
Magento's state resolver (new -> processing -> complete/closed), appends a
status history entry, and records the customer e-mail only when ``notify``.
The three are read alike (:func:`get_document`, :func:`search_documents`,
:func:`document_comments`), as their repositories' ``get``/``getList`` do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.engine import Connection

from sandbox.commerce import schema
from sandbox.commerce.common import (
    add_history,
    array,
    fmt_price,
    get_row,
    load_one,
    money,
    next_increment_id,
    obj,
    record_email,
    shape,
    to_bool,
    to_float,
    to_int,
    to_str,
)
from sandbox.commerce.errors import bad_request, required
from sandbox.commerce.orders import (
    can_creditmemo,
    can_invoice,
    can_ship,
    load_for_update,
    qty_to_invoice,
    qty_to_refund,
    qty_to_ship,
    resolve_state,
    set_state,
)
from sandbox.commerce.search_criteria import SearchCriteria, flat_fields, parent_criteria, run_search

_O = schema.sales_order
_I = schema.sales_order_item
_PAY = schema.sales_order_payment
_S = schema.sales_shipment
_SI = schema.sales_shipment_item
_ST = schema.sales_shipment_track
_SC = schema.sales_shipment_comment
_IN, _II, _IC = schema.sales_invoice, schema.sales_invoice_item, schema.sales_invoice_comment
_CM, _CI, _CC = schema.sales_creditmemo, schema.sales_creditmemo_item, schema.sales_creditmemo_comment
EPS = 1e-6


def _requested(raw: Any) -> dict[int, float]:
    """``[{order_item_id, qty}]`` -> ``{order_item_id: qty}`` (quantities of one item add up)."""
    out: dict[int, float] = {}
    for entry in array(raw, "items"):
        entry = obj(entry, "items")
        item_id = to_int(entry.get("order_item_id"), "order_item_id")
        if item_id is None:
            raise required("order_item_id")
        out[item_id] = out.get(item_id, 0.0) + (to_float(entry.get("qty"), "qty") or 0.0)
    return out


def _share(item: dict[str, Any], key: str, qty: float) -> float:
    """The part of an item amount (tax, discount) that belongs to ``qty`` units."""
    ordered = float(item.get("qty_ordered") or 0)
    return money(item.get(key)) * qty / ordered if ordered else 0.0


def _base_rate(order: dict[str, Any]) -> float:
    grand = money(order.get("grand_total"))
    return money(order.get("base_grand_total")) / grand if grand else 1.0


def _base_share(item: dict[str, Any], key: str, qty: float, rate: float) -> float:
    """``_share`` of the base-currency column, or of the order-currency one converted at the order's rate."""
    if item.get(f"base_{key}") is not None:
        return _share(item, f"base_{key}", qty)
    return _share(item, key, qty) * rate


def _base_price(item: dict[str, Any], rate: float) -> float:
    return money(item["base_price"]) if item.get("base_price") is not None else money(item.get("price")) * rate


def _line(item: dict[str, Any], qty: float, rate: float) -> dict[str, Any]:
    """One document line: row total, tax and discount of ``qty`` units, in order and base currency."""
    return {
        "item": item, "qty": qty,
        "base_price": _base_price(item, rate),
        "row_total": money(item.get("price")) * qty, "base_row_total": _base_price(item, rate) * qty,
        "tax": _share(item, "tax_amount", qty), "base_tax": _base_share(item, "tax_amount", qty, rate),
        "discount": _share(item, "discount_amount", qty), "base_discount": _base_share(item, "discount_amount", qty, rate),
    }  # fmt: skip


def _fail(document: str, errors: list[str]) -> None:
    if errors:
        raise bad_request(f"{document} Document Validation Error(s):\n" + "\n".join(errors))


def _comment(conn: Connection, table: Any, parent_id: int, body: dict[str, Any], notify: bool, now: datetime) -> None:
    comment = obj(body.get("comment"), "comment")
    if comment.get("comment"):
        conn.execute(
            insert(table),
            dict(
                parent_id=parent_id,
                comment=to_str(comment["comment"], "comment"),
                is_customer_notified=int(notify),
                is_visible_on_front=int(to_bool(comment.get("is_visible_on_front"))),
                created_at=now,
            ),
        )


def _quantities(items: list[dict[str, Any]], requested: dict[int, float], available: Any, verb: str, noun: str,
                errors: list[str], strict_ids: bool) -> dict[int, float]:  # fmt: skip
    """Validated ``{item_id: qty}``: the request, or every open quantity when it names no item."""
    by_id = {i["item_id"]: i for i in items}
    if not requested:
        qtys = {i["item_id"]: available(i) for i in items if available(i) > EPS}
    else:
        if strict_ids and any(item_id not in by_id for item_id in requested):
            errors.append(f"The {noun} contains one or more items that are not part of the original order.")
        qtys = {item_id: qty for item_id, qty in requested.items() if item_id in by_id}
    for item_id, qty in qtys.items():
        if qty < -EPS or qty > available(by_id[item_id]) + EPS:
            errors.append(
                f'The quantity to {verb} must not be greater than the {noun_open(verb)} quantity for product SKU "{by_id[item_id]["sku"]}".'
            )
    if sum(qtys.values()) <= EPS:
        errors.append(f"You can't create {'an' if noun[0] in 'aeiou' else 'a'} {noun} without products.")
    return {k: v for k, v in qtys.items() if v > EPS}


def noun_open(verb: str) -> str:
    return {"invoice": "uninvoiced", "ship": "unshipped", "creditmemo": "unrefunded"}[verb]


def _payment_add(conn: Connection, order_id: int, values: dict[str, float]) -> None:
    payment = conn.execute(select(_PAY).where(_PAY.c.parent_id == order_id)).mappings().first()
    if payment:
        conn.execute(
            update(_PAY)
            .where(_PAY.c.entity_id == payment["entity_id"])
            .values(**{k: money(payment[k]) + v for k, v in values.items()})
        )


# --- invoice --------------------------------------------------------------------------------------------


def invoice(conn: Connection, now: datetime, order_id: Any, body: dict[str, Any]) -> int:
    """``POST /V1/order/{id}/invoice``: an offline-captured invoice; returns its id."""
    order, items = load_for_update(conn, order_id)
    notify = to_bool(body.get("notify"))
    errors: list[str] = []
    qtys: dict[int, float] = {}
    if order["state"] in ("payment_review", "holded", "canceled", "complete", "closed"):
        errors.append(f"An invoice cannot be created when an order has a status of {order['status']}")
    elif not can_invoice(order, items):
        errors.append("The order does not allow an invoice to be created.")
    else:
        qtys = _quantities(
            items, _requested(body.get("items")), qty_to_invoice, "invoice", "invoice", errors, strict_ids=True
        )
    _fail("Invoice", errors)

    rate = _base_rate(order)
    by_id = {i["item_id"]: i for i in items}
    lines = []
    for item_id, qty in qtys.items():
        item = by_id[item_id]
        lines.append(_line(item, qty, rate))
        item["qty_invoiced"] = float(item.get("qty_invoiced") or 0) + qty
    last = not any(qty_to_invoice(i) > EPS for i in items)
    first_shipping = abs(money(order.get("shipping_invoiced"))) < EPS
    totals = _invoice_totals(order, lines, rate, last, first_shipping)

    increment_id = next_increment_id(conn, "invoice", order["store_id"] or 1)
    invoice_id = conn.execute(
        insert(_IN), dict(
            store_id=order["store_id"], order_id=order["entity_id"], increment_id=increment_id, state=2,
            total_qty=sum(qtys.values()), can_void_flag=0, email_sent=1 if notify else None, send_email=int(notify),
            billing_address_id=order.get("billing_address_id"), shipping_address_id=order.get("shipping_address_id"),
            order_currency_code=order.get("order_currency_code"), base_currency_code=order.get("base_currency_code"),
            created_at=now, updated_at=now, **totals,
        )
    ).inserted_primary_key[0]  # fmt: skip
    for line in lines:
        item = line["item"]
        _insert_document_item(conn, _II, invoice_id, line)
        conn.execute(
            update(_I)
            .where(_I.c.item_id == item["item_id"])
            .values(
                qty_invoiced=item["qty_invoiced"],
                row_invoiced=money(item.get("row_invoiced")) + line["row_total"],
                base_row_invoiced=money(item.get("base_row_invoiced")) + line["base_row_total"],
                tax_invoiced=money(item.get("tax_invoiced")) + line["tax"],
                base_tax_invoiced=money(item.get("base_tax_invoiced")) + line["base_tax"],
                discount_invoiced=money(item.get("discount_invoiced")) + line["discount"],
                base_discount_invoiced=money(item.get("base_discount_invoiced")) + line["base_discount"],
                updated_at=now,
            )
        )
    _comment(conn, _IC, invoice_id, body, notify, now)

    grand, base_grand = totals["grand_total"], totals["base_grand_total"]
    paid, base_paid = money(order.get("total_paid")) + grand, money(order.get("base_total_paid")) + base_grand
    values = {
        "total_invoiced": money(order.get("total_invoiced")) + grand,
        "base_total_invoiced": money(order.get("base_total_invoiced")) + base_grand,
        "total_paid": paid,
        "base_total_paid": base_paid,
        "total_due": money(order.get("grand_total")) - paid,
        "base_total_due": money(order.get("base_grand_total")) - base_paid,
        "subtotal_invoiced": money(order.get("subtotal_invoiced")) + totals["subtotal"],
        "base_subtotal_invoiced": money(order.get("base_subtotal_invoiced")) + totals["base_subtotal"],
        "tax_invoiced": money(order.get("tax_invoiced")) + totals["tax_amount"],
        "base_tax_invoiced": money(order.get("base_tax_invoiced")) + totals["base_tax_amount"],
        "shipping_invoiced": money(order.get("shipping_invoiced")) + totals["shipping_amount"],
        "base_shipping_invoiced": money(order.get("base_shipping_invoiced")) + totals["base_shipping_amount"],
        "discount_invoiced": money(order.get("discount_invoiced")) + totals["discount_amount"],
        "base_discount_invoiced": money(order.get("base_discount_invoiced")) + totals["base_discount_amount"],
    }
    order.update(values)
    state = resolve_state(order, items, in_progress=True)
    status = set_state(conn, now, order, state, values, default_status=True)
    _payment_add(conn, order["entity_id"], {"amount_paid": grand, "base_amount_paid": base_grand,
                                            "shipping_captured": totals["shipping_amount"],
                                            "base_shipping_captured": totals["base_shipping_amount"]})  # fmt: skip
    currency = order.get("order_currency_code")
    add_history(
        conn,
        now,
        order["entity_id"],
        f"Invoice #{increment_id} created: captured amount of {fmt_price(grand, currency)} offline.",
        status,
        notify,
        entity_name="invoice",
    )
    if notify:
        record_email(conn, now, "invoice", order["customer_email"], order["store_id"], order, invoice_id)
    return invoice_id


_INVOICED = {
    "subtotal": "subtotal_invoiced", "tax_amount": "tax_invoiced", "shipping_amount": "shipping_invoiced",
    "discount_amount": "discount_invoiced", "grand_total": "total_invoiced",
}  # fmt: skip


def _invoice_totals(
    order: dict[str, Any], lines: list[dict[str, Any]], rate: float, last: bool, first_shipping: bool
) -> dict[str, float]:
    """Invoice totals; the last invoice takes whatever remains uninvoiced, so the order balances exactly."""
    totals: dict[str, float] = {}
    if last:
        for key, done in _INVOICED.items():
            totals[key] = money(order.get(key)) - money(order.get(done))
            totals[f"base_{key}"] = money(order.get(f"base_{key}")) - money(order.get(f"base_{done}"))
    else:
        shipping = money(order.get("shipping_amount")) if first_shipping else 0.0
        shipping_tax = money(order.get("shipping_tax_amount")) if first_shipping else 0.0
        base_shipping = (
            money(order["base_shipping_amount"]) if order.get("base_shipping_amount") is not None else shipping * rate
        )
        base_shipping_tax = (
            money(order["base_shipping_tax_amount"])
            if order.get("base_shipping_tax_amount") is not None
            else shipping_tax * rate
        )
        totals = {
            "subtotal": sum(x["row_total"] for x in lines), "base_subtotal": sum(x["base_row_total"] for x in lines),
            "tax_amount": sum(x["tax"] for x in lines) + shipping_tax,
            "base_tax_amount": sum(x["base_tax"] for x in lines) + (base_shipping_tax if first_shipping else 0.0),
            "shipping_amount": shipping, "base_shipping_amount": base_shipping if first_shipping else 0.0,
            "discount_amount": -sum(x["discount"] for x in lines), "base_discount_amount": -sum(x["base_discount"] for x in lines),
        }  # fmt: skip
        for prefix in ("", "base_"):
            totals[f"{prefix}grand_total"] = sum(
                totals[f"{prefix}{k}"] for k in ("subtotal", "tax_amount", "shipping_amount", "discount_amount")
            )
    return {k: round(v, 4) for k, v in totals.items()}


# --- shipment -------------------------------------------------------------------------------------------


def ship(conn: Connection, now: datetime, order_id: Any, body: dict[str, Any]) -> int:
    """``POST /V1/order/{id}/ship``: a shipment with items and tracks; returns its id."""
    order, items = load_for_update(conn, order_id)
    notify = to_bool(body.get("notify"))
    errors: list[str] = []
    qtys: dict[int, float] = {}
    tracks = [obj(t, "tracks") for t in array(body.get("tracks"), "tracks")]
    if order["state"] in ("payment_review", "holded", "canceled", "closed"):
        errors.append(f"A shipment cannot be created when an order has a status of {order['status']}")
    elif not can_ship(order, items):
        errors.append("The order does not allow a shipment to be created.")
    else:
        qtys = _quantities(
            items, _requested(body.get("items")), qty_to_ship, "ship", "shipment", errors, strict_ids=False
        )
    errors += ["Please enter a tracking number." for t in tracks if not t.get("track_number")]
    _fail("Shipment", errors)

    by_id = {i["item_id"]: i for i in items}
    increment_id = next_increment_id(conn, "shipment", order["store_id"] or 1)
    total_weight = sum(money(by_id[i].get("weight")) * q for i, q in qtys.items())
    shipment_id = conn.execute(
        insert(_S), dict(
            store_id=order["store_id"], order_id=order["entity_id"], increment_id=increment_id,
            customer_id=order.get("customer_id"), total_qty=sum(qtys.values()), total_weight=total_weight or None,
            email_sent=1 if notify else None, send_email=int(notify), billing_address_id=order.get("billing_address_id"),
            shipping_address_id=order.get("shipping_address_id"), created_at=now, updated_at=now,
        )
    ).inserted_primary_key[0]  # fmt: skip
    for item_id, qty in qtys.items():
        item = by_id[item_id]
        conn.execute(
            insert(_SI), dict(
                parent_id=shipment_id, order_item_id=item_id, product_id=item.get("product_id"), sku=item["sku"],
                name=item.get("name"), qty=qty, price=item.get("price"), base_price=item.get("base_price"),
                row_total=money(item.get("price")) * qty, weight=item.get("weight"),
            )
        )  # fmt: skip
        item["qty_shipped"] = float(item.get("qty_shipped") or 0) + qty
        conn.execute(update(_I).where(_I.c.item_id == item_id).values(qty_shipped=item["qty_shipped"], updated_at=now))
    for track in tracks:
        conn.execute(
            insert(_ST), dict(
                parent_id=shipment_id, order_id=order["entity_id"], track_number=to_str(track["track_number"], "track_number"),
                title=to_str(track.get("title"), "title"), carrier_code=to_str(track.get("carrier_code"), "carrier_code"),
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
    _comment(conn, _SC, shipment_id, body, notify, now)

    state = resolve_state(order, items, in_progress=True)
    status = set_state(conn, now, order, state, {})
    numbers = ", ".join(str(t["track_number"]) for t in tracks)
    add_history(
        conn,
        now,
        order["entity_id"],
        f"Shipment #{increment_id} created" + (f" (tracking {numbers})." if numbers else "."),
        status,
        notify,
        entity_name="shipment",
    )
    if notify:
        record_email(conn, now, "shipment", order["customer_email"], order["store_id"], order, shipment_id)
    return shipment_id


# --- credit memo ----------------------------------------------------------------------------------------


def refund(conn: Connection, now: datetime, order_id: Any, body: dict[str, Any]) -> int:
    """``POST /V1/order/{id}/refund``: an offline credit memo; returns its id."""
    order, items = load_for_update(conn, order_id)
    notify = to_bool(body.get("notify"))
    arguments = obj(body.get("arguments"), "arguments")
    errors: list[str] = []
    qtys: dict[int, float] = {}
    currency = order.get("order_currency_code")
    if order["state"] in ("payment_review", "holded", "canceled", "closed"):
        errors.append(f"A creditmemo can not be created when an order has a status of {order['status']}")
    elif not can_creditmemo(order, items):
        errors.append("The order does not allow a creditmemo to be created.")
    else:
        requested = _requested(body.get("items"))
        qty_errors: list[str] = []
        qtys = _quantities(items, requested, qty_to_refund, "creditmemo", "creditmemo", qty_errors, strict_ids=False)
        adjustments = any(to_float(arguments.get(k), k) for k in ("adjustment_positive", "shipping_amount"))
        errors += [e for e in qty_errors if not (adjustments and e.startswith("You can't"))]
    shipping_open = money(order.get("shipping_invoiced")) - money(order.get("shipping_refunded"))
    shipping = to_float(arguments.get("shipping_amount"), "shipping_amount")
    shipping = shipping_open if shipping is None else shipping
    if not errors and shipping > shipping_open + EPS:
        errors.append(f"Maximum shipping amount allowed to refund is: {fmt_price(shipping_open, currency)}")
    _fail("Creditmemo", errors)

    rate = _base_rate(order)
    by_id = {i["item_id"]: i for i in items}
    lines = []
    for item_id, qty in qtys.items():
        item = by_id[item_id]
        lines.append(_line(item, qty, rate))
        item["qty_refunded"] = float(item.get("qty_refunded") or 0) + qty
    adj_pos = to_float(arguments.get("adjustment_positive"), "adjustment_positive") or 0.0
    adj_neg = to_float(arguments.get("adjustment_negative"), "adjustment_negative") or 0.0
    everything = (
        not any(qty_to_refund(i) > EPS or qty_to_invoice(i) > EPS for i in items) and shipping >= shipping_open - EPS
    )
    shipping_amount = money(order.get("shipping_amount"))
    shipping_tax = money(order.get("shipping_tax_amount")) * shipping / shipping_amount if shipping_amount else 0.0
    if everything:  # the rest of what was invoiced, so the order balances exactly
        subtotal = money(order.get("subtotal_invoiced")) - money(order.get("subtotal_refunded"))
        tax = money(order.get("tax_invoiced")) - money(order.get("tax_refunded"))
        discount = money(order.get("discount_invoiced")) - money(order.get("discount_refunded"))
    else:
        subtotal = sum(line["row_total"] for line in lines)
        tax = sum(line["tax"] for line in lines) + shipping_tax
        discount = -sum(line["discount"] for line in lines)
    grand = subtotal + tax + shipping + discount + adj_pos - adj_neg
    available = money(order.get("total_paid")) - money(order.get("total_refunded"))
    if grand > available + 0.0001:
        _fail("Creditmemo", [f"The most money available to refund is {fmt_price(available, currency)}."])
    totals = {
        "subtotal": subtotal, "base_subtotal": subtotal * rate, "tax_amount": tax, "base_tax_amount": tax * rate,
        "shipping_amount": shipping, "base_shipping_amount": shipping * rate, "discount_amount": discount,
        "base_discount_amount": discount * rate, "grand_total": grand, "base_grand_total": grand * rate,
        "adjustment_positive": adj_pos, "base_adjustment_positive": adj_pos * rate, "adjustment_negative": adj_neg,
        "base_adjustment_negative": adj_neg * rate, "adjustment": adj_pos - adj_neg, "base_adjustment": (adj_pos - adj_neg) * rate,
    }  # fmt: skip
    totals = {k: round(v, 4) for k, v in totals.items()}

    increment_id = next_increment_id(conn, "creditmemo", order["store_id"] or 1)
    memo_id = conn.execute(
        insert(_CM), dict(
            store_id=order["store_id"], order_id=order["entity_id"], increment_id=increment_id, state=2,
            email_sent=1 if notify else None, send_email=int(notify), billing_address_id=order.get("billing_address_id"),
            shipping_address_id=order.get("shipping_address_id"), order_currency_code=currency,
            base_currency_code=order.get("base_currency_code"), created_at=now, updated_at=now, **totals,
        )
    ).inserted_primary_key[0]  # fmt: skip
    for line in lines:
        item = line["item"]
        _insert_document_item(conn, _CI, memo_id, line)
        conn.execute(
            update(_I)
            .where(_I.c.item_id == item["item_id"])
            .values(
                qty_refunded=item["qty_refunded"],
                amount_refunded=money(item.get("amount_refunded")) + line["row_total"],
                base_amount_refunded=money(item.get("base_amount_refunded")) + line["base_row_total"],
                tax_refunded=money(item.get("tax_refunded")) + line["tax"],
                base_tax_refunded=money(item.get("base_tax_refunded")) + line["base_tax"],
                discount_refunded=money(item.get("discount_refunded")) + line["discount"],
                base_discount_refunded=money(item.get("base_discount_refunded")) + line["base_discount"],
                updated_at=now,
            )
        )
    _comment(conn, _CC, memo_id, body, notify, now)

    def plus(key: str, amount: float) -> float:
        return round(money(order.get(key)) + amount, 4)

    values = {
        "total_refunded": plus("total_refunded", grand), "base_total_refunded": plus("base_total_refunded", totals["base_grand_total"]),
        "total_offline_refunded": plus("total_offline_refunded", grand),
        "base_total_offline_refunded": plus("base_total_offline_refunded", totals["base_grand_total"]),
        "subtotal_refunded": plus("subtotal_refunded", subtotal), "base_subtotal_refunded": plus("base_subtotal_refunded", totals["base_subtotal"]),
        "tax_refunded": plus("tax_refunded", tax), "base_tax_refunded": plus("base_tax_refunded", totals["base_tax_amount"]),
        "shipping_refunded": plus("shipping_refunded", shipping), "base_shipping_refunded": plus("base_shipping_refunded", totals["base_shipping_amount"]),
        "shipping_tax_refunded": plus("shipping_tax_refunded", shipping_tax),
        "discount_refunded": plus("discount_refunded", discount), "base_discount_refunded": plus("base_discount_refunded", totals["base_discount_amount"]),
        "adjustment_positive": plus("adjustment_positive", adj_pos), "base_adjustment_positive": plus("base_adjustment_positive", totals["base_adjustment_positive"]),
        "adjustment_negative": plus("adjustment_negative", adj_neg), "base_adjustment_negative": plus("base_adjustment_negative", totals["base_adjustment_negative"]),
    }  # fmt: skip
    order.update(values)
    state = resolve_state(order, items, in_progress=False)
    status = set_state(conn, now, order, state, values, default_status=True)
    _payment_add(conn, order["entity_id"], {"amount_refunded": grand, "base_amount_refunded": totals["base_grand_total"],
                                            "shipping_refunded": shipping, "base_shipping_refunded": totals["base_shipping_amount"]})  # fmt: skip
    add_history(
        conn,
        now,
        order["entity_id"],
        f"We refunded {fmt_price(grand, currency)} offline.",
        status,
        notify,
        entity_name="creditmemo",
    )
    if notify:
        record_email(conn, now, "creditmemo", order["customer_email"], order["store_id"], order, memo_id)
    return memo_id


# --- shipments and tracks -------------------------------------------------------------------------------


def track_out(row: dict[str, Any]) -> dict[str, Any]:
    """A track; the schema requires weight, qty and description, which Magento leaves null, so 0/0/""."""
    out = shape(row)
    out.setdefault("weight", 0)
    out.setdefault("qty", 0)
    out.setdefault("description", "")
    out.setdefault("title", "")
    out.setdefault("carrier_code", "")
    return out


def comment_out(row: dict[str, Any]) -> dict[str, Any]:
    """An invoice, shipment or credit-memo comment (the schema requires the text and the notified flag)."""
    out = shape(row)
    out.setdefault("comment", "")
    out.setdefault("is_customer_notified", 0)
    return out


def _memo_item_out(row: dict[str, Any]) -> dict[str, Any]:
    """A credit-memo line; the schema requires ``base_cost``, which the sandbox's catalogue has not, so 0."""
    out = shape(row)
    out.setdefault("base_cost", 0)
    return out


Shaper = Callable[[dict[str, Any]], dict[str, Any]]


def _loader(children: dict[str, tuple[Table, Shaper]], **constant: Any) -> Callable[[Connection, list], list]:
    """Loads document rows with their child rows (items, comments, tracks) in one query per child table."""

    def load(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [r["entity_id"] for r in rows]
        found: dict[str, dict[int, list]] = {name: {i: [] for i in ids} for name in children}
        if ids:
            for name, (table, _) in children.items():
                query = select(table).where(table.c.parent_id.in_(ids)).order_by(table.c.entity_id)
                for child in conn.execute(query).mappings():
                    found[name][child["parent_id"]].append(dict(child))
        out = []
        for r in rows:
            document = shape(r, skip=("send_email",))
            for name, (_, shaper) in children.items():
                document[name] = [shaper(c) for c in found[name][r["entity_id"]]]
            out.append({**document, **constant})
        return out

    return load


load_shipments = _loader({"items": (_SI, shape), "tracks": (_ST, track_out), "comments": (_SC, comment_out)},
                         packages=[])  # fmt: skip
load_invoices = _loader({"items": (_II, shape), "comments": (_IC, comment_out)})
load_creditmemos = _loader({"items": (_CI, _memo_item_out), "comments": (_CC, comment_out)})

#: name -> (header table, loader, comment table) of each sales document the API reads.
DOCUMENTS: dict[str, tuple[Table, Callable[[Connection, list], list], Table]] = {
    "shipment": (_S, load_shipments, _SC),
    "invoice": (_IN, load_invoices, _IC),
    "creditmemo": (_CM, load_creditmemos, _CC),
}
_FIELDS = {name: flat_fields(table) for name, (table, _, _) in DOCUMENTS.items()}
_COMMENT_FIELDS = {name: flat_fields(comments) for name, (_, _, comments) in DOCUMENTS.items()}


def get_document(conn: Connection, kind: str, document_id: Any) -> dict[str, Any]:
    """``GET /V1/shipment/{id}``, ``/V1/invoices/{id}``, ``/V1/creditmemo/{id}``: the repository's ``get``."""
    table, load, _ = DOCUMENTS[kind]
    return load_one(conn, table, document_id, load)


def search_documents(conn: Connection, kind: str, criteria: SearchCriteria) -> dict[str, Any]:
    """``GET /V1/shipments``, ``/V1/invoices``, ``/V1/creditmemos``: searchCriteria over the document's table."""
    table, load, _ = DOCUMENTS[kind]
    return run_search(conn, table, _FIELDS[kind], criteria, load)


def document_comments(conn: Connection, kind: str, document_id: Any) -> dict[str, Any]:
    """``GET /V1/<document>/{id}/comments``: the comment search Magento's ``getCommentsList`` runs (no 404)."""
    _, _, table = DOCUMENTS[kind]
    return run_search(conn, table, _COMMENT_FIELDS[kind], parent_criteria(document_id), _load_comments)


def _load_comments(_conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [comment_out(dict(r)) for r in rows]


def shipment_label(conn: Connection, shipment_id: Any) -> str:
    """``GET /V1/shipment/{id}/label``: the stored label; the sandbox's carriers print none, so ""."""
    get_document(conn, "shipment", shipment_id)
    return ""


def add_track(conn: Connection, now: datetime, body: dict[str, Any]) -> int:
    """``ShipmentTrackRepository::save``: the shipment must belong to the given order."""
    entity = body.get("entity")
    if not isinstance(entity, dict):
        raise required("entity")
    shipment_id = to_int(entity.get("parent_id"), "parent_id")
    order_id = to_int(entity.get("order_id"), "order_id")
    shipment = (
        conn.execute(select(_S).where(_S.c.entity_id == shipment_id, _S.c.order_id == order_id)).mappings().first()
    )
    if shipment is None or not entity.get("track_number"):
        raise bad_request("Could not save the shipment tracking.")
    values = {
        "parent_id": shipment_id, "order_id": order_id, "track_number": to_str(entity["track_number"], "track_number"),
        "title": to_str(entity.get("title"), "title"), "carrier_code": to_str(entity.get("carrier_code"), "carrier_code"),
        "description": to_str(entity.get("description"), "description"), "qty": to_float(entity.get("qty"), "qty"),
        "weight": to_float(entity.get("weight"), "weight"), "updated_at": now,
    }  # fmt: skip
    track_id = to_int(entity.get("entity_id"), "entity_id")
    if track_id is not None:
        get_row(conn, _ST, "entity_id", track_id)
        conn.execute(update(_ST).where(_ST.c.entity_id == track_id).values(**values))
    else:
        track_id = conn.execute(insert(_ST), dict(**values, created_at=now)).inserted_primary_key[0]
    conn.execute(update(_S).where(_S.c.entity_id == shipment_id).values(updated_at=now))
    return track_id


def get_track(conn: Connection, track_id: int) -> dict[str, Any]:
    return track_out(dict(get_row(conn, _ST, "entity_id", track_id)))


def _insert_document_item(conn: Connection, table: Any, parent_id: int, line: dict[str, Any]) -> None:
    """One invoice or credit-memo line: the order item's identity plus the line's quantity and amounts."""
    item = line["item"]
    conn.execute(
        insert(table), dict(
            parent_id=parent_id, order_item_id=item["item_id"], product_id=item.get("product_id"), sku=item["sku"],
            name=item.get("name"), qty=line["qty"], price=item.get("price"), base_price=line["base_price"],
            row_total=line["row_total"], base_row_total=line["base_row_total"], tax_amount=line["tax"],
            base_tax_amount=line["base_tax"], discount_amount=line["discount"], base_discount_amount=line["base_discount"],
        )
    )  # fmt: skip
