"""Customers: ``POST /V1/customers``, ``GET /V1/customers/{id}``, ``GET /V1/customers/search``.

Creation follows ``AccountManagement::createAccount``: required names and
e-mail, the website taken from the request or the store of the route, the
``(email, website_id)`` uniqueness rule, Magento's password strength rule, and
the welcome e-mail Magento sends for every new account (recorded as a
``new_account`` notification) unless "Disable Email Communications" is set
for the store view of the request (``/rest/<store_code>/V1/customers``), as
Magento's ``TransportInterfacePlugin`` checks the current store.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from sandbox.commerce import schema
from sandbox.commerce.common import (
    array,
    fmt_dt,
    obj,
    pick,
    record_email,
    shape,
    street_in,
    street_out,
    to_bool,
    to_int,
)
from sandbox.commerce.errors import INVALID_FIELD, MagentoError, bad_request, not_found, required
from sandbox.commerce.search_criteria import Fields, SearchCriteria, run_search

DUPLICATE_EMAIL = "A customer with the same email address already exists in an associated website."
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_T = schema.customer_entity
_A = schema.customer_address_entity

FIELDS = Fields(
    columns={name: col for name, col in _T.c.items() if name != "password_hash"},
    unknown=lambda name: bad_request("Invalid attribute name: %1", [name]),
)


def _check_password(password: str) -> None:
    """Magento's default rule: 8+ characters from 3 of lower, upper, digits, special."""
    if len(password) < 8:
        raise bad_request("The password needs at least %1 characters. Create a new password and try again.", ["8"])
    classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]"))
    if classes < 3:
        raise bad_request(
            "Minimum of different classes of characters in password is %1. Classes of characters: "
            "Lower Case, Upper Case, Digits, Special Characters.",
            ["3"],
        )
    if password.strip() != password:
        raise bad_request("The password can't begin or end with a space. Verify the password and try again.")


def _hash_password(password: str) -> str:
    salt = secrets.token_hex(16)
    return f"{hashlib.sha256((salt + password).encode()).hexdigest()}:{salt}:1"


def _validate_address(address: dict[str, Any]) -> list[dict[str, Any]]:
    """Magento's customer address rules (region requirements left out)."""
    errors = []
    for key in ("firstname", "lastname", "street", "city", "country_id", "telephone", "postcode"):
        if not address.get(key):
            errors.append(
                {"message": '"%fieldName" is required. Enter and try again.', "parameters": {"fieldName": key}}
            )
    return errors


def create(conn: Connection, now: datetime, request: dict[str, Any], store: dict[str, Any]) -> int:
    """Create a customer account; returns its id."""
    customer = request.get("customer")
    if not isinstance(customer, dict):
        raise required("customer")
    for key in ("email", "firstname", "lastname"):
        if not customer.get(key) or not str(customer[key]).strip():
            raise required(key)
    email = str(customer["email"]).strip()
    if not _EMAIL.match(email):
        raise bad_request(INVALID_FIELD, {"fieldName": "email", "value": email})
    password = request.get("password")
    if password is not None:
        _check_password(str(password))
    addresses = [obj(a, "addresses") for a in array(customer.get("addresses"), "addresses")]
    errors = [e for a in addresses for e in _validate_address(a)]
    if len(errors) == 1:
        raise bad_request(errors[0]["message"], errors[0]["parameters"])
    if errors:
        raise MagentoError(400, "One or more input exceptions have occurred.", errors=errors)

    website_id = to_int(customer.get("website_id"), "website_id")
    store_id = to_int(customer.get("store_id"), "store_id")
    if website_id is None:
        website_id = store["website_id"] if store["website_id"] else 1
    stores = conn.execute(select(schema.store).where(schema.store.c.website_id == website_id)).mappings().all()
    if not stores:
        raise not_found(
            "The website with id %1 that was requested wasn't found. Verify the website and try again.",
            [str(website_id)],
        )
    if store_id is None:
        store_id = store["store_id"] if store["website_id"] == website_id else min(s["store_id"] for s in stores)
    store_row = next((s for s in stores if s["store_id"] == store_id), None)
    if store_row is None:
        raise not_found("The store that was requested wasn't found. Verify the store and try again.")

    duplicate = conn.execute(
        select(_T.c.entity_id).where(func.lower(_T.c.email) == email.lower(), _T.c.website_id == website_id)
    ).first()
    if duplicate:
        raise bad_request(DUPLICATE_EMAIL)
    values = pick(customer, schema.CUSTOMER_STRINGS, ["group_id", "gender", "disable_auto_group_change"])
    values.update(
        email=email,
        website_id=website_id,
        store_id=store_id,
        group_id=values.get("group_id") or 1,
        created_in=values.get("created_in") or store_row["name"],
        dob=str(customer["dob"])[:10] if customer.get("dob") else None,
        password_hash=_hash_password(str(password)) if password is not None else None,
        disable_auto_group_change=values.get("disable_auto_group_change") or 0,
        created_at=now,
        updated_at=now,
    )
    try:
        customer_id = conn.execute(insert(_T), dict(**values)).inserted_primary_key[0]
    except IntegrityError:
        raise bad_request(DUPLICATE_EMAIL) from None
    defaults: dict[str, int] = {}
    for address in addresses:
        region = address.get("region")
        row = pick({k: v for k, v in address.items() if k != "region"}, schema.ADDRESS_STRINGS, ["region_id"])
        if isinstance(region, str):
            row["region"] = region
        elif isinstance(region, dict):
            row.setdefault("region", region.get("region"))
            row.setdefault("region_code", region.get("region_code"))
            if region.get("region_id") is not None:
                row["region_id"] = to_int(region.get("region_id"), "region_id")
        row.update(parent_id=customer_id, street=street_in(address.get("street")), created_at=now, updated_at=now)
        address_id = conn.execute(insert(_A), dict(**row)).inserted_primary_key[0]
        for flag in ("default_billing", "default_shipping"):
            if to_bool(address.get(flag)):
                defaults[flag] = address_id
    if defaults:
        conn.execute(update(_T).where(_T.c.entity_id == customer_id).values(**defaults))
    # EmailNotification::newAccount renders in the customer's store but sends in the request's store view.
    record_email(conn, now, "new_account", email, store_id, entity_id=customer_id, sending_store_id=store["store_id"])
    return customer_id


def _address_out(row: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
    out = shape(row, skip=("entity_id", "parent_id", "street", "region", "region_code", "region_id", "is_active",
                           "created_at", "updated_at"))  # fmt: skip
    out.update(
        id=row["entity_id"],
        customer_id=row["parent_id"],
        region={
            "region_code": row["region_code"] or "",
            "region": row["region"] or "",
            "region_id": row["region_id"] or 0,
        },
        region_id=row["region_id"] or 0,
        street=street_out(row["street"]),
    )
    if customer.get("default_billing") == row["entity_id"]:
        out["default_billing"] = True
    if customer.get("default_shipping") == row["entity_id"]:
        out["default_shipping"] = True
    return out


def _customer_out(row: dict[str, Any], addresses: list[dict[str, Any]]) -> dict[str, Any]:
    out = shape(row, skip=("entity_id", "password_hash", "is_active", "default_billing", "default_shipping"))
    out["id"] = row["entity_id"]
    for flag in ("default_billing", "default_shipping"):
        if row[flag] is not None:
            out[flag] = str(row[flag])
    out["created_at"] = fmt_dt(row["created_at"])
    out["updated_at"] = fmt_dt(row["updated_at"])
    out["addresses"] = [_address_out(a, row) for a in addresses]
    out["disable_auto_group_change"] = row["disable_auto_group_change"] or 0
    out["extension_attributes"] = {"is_subscribed": False}
    return out


def _load(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [r["entity_id"] for r in rows]
    by_parent: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for a in conn.execute(select(_A).where(_A.c.parent_id.in_(ids)).order_by(_A.c.entity_id)).mappings():
            by_parent[a["parent_id"]].append(dict(a))
    return [_customer_out(dict(r), by_parent[r["entity_id"]]) for r in rows]


def get(conn: Connection, customer_id: Any) -> dict[str, Any]:
    try:
        key = int(customer_id)
    except (TypeError, ValueError):
        key = -1
    row = conn.execute(select(_T).where(_T.c.entity_id == key)).mappings().first()
    if row is None:
        raise MagentoError(
            404,
            "No such entity with %fieldName = %fieldValue",
            {"fieldName": "customerId", "fieldValue": str(customer_id)},
        )
    return _load(conn, [row])[0]


def search(conn: Connection, criteria: SearchCriteria) -> dict[str, Any]:
    return run_search(conn, _T, FIELDS, criteria, _load)
