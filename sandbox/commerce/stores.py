"""Store lookups: ``GET /V1/store/storeViews``, ``storeGroups``, ``websites`` and ``storeConfigs``.

Like Magento's ``StoreRepository``, ``GroupRepository`` and ``WebsiteRepository``
the first three include the admin scope (id 0); ``storeConfigs`` (Magento's
``StoreConfigManager``) lists the store views only, optionally those named in
``storeCodes``. Currencies and the e-mail switch are read from
``core_config_data`` the way Magento's scope config does (store view, then its
website, then default); locale, time zone and weight unit come from
:data:`CONFIG`; the base URLs are the address the request came to.

:func:`create_store` backs ``POST /_sandbox/stores``: a new store view, and its
website when the website code is new.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from sandbox.catalog import MARKETPLACE_STORES, MARKETPLACES
from sandbox.commerce import schema
from sandbox.commerce.errors import bad_request

#: store view code -> (locale, time zone, weight unit); other store views get the ``default`` row.
CONFIG: dict[str, tuple[str, str, str]] = {
    "default": ("en_US", "America/Los_Angeles", "lbs"),
    "amazon_ca": ("en_CA", "America/Toronto", "kgs"),
    "amazon_mx": ("es_MX", "America/Mexico_City", "kgs"),
}
#: The default scope's base currency (Magento's ``currency/options/base`` at default scope).
BASE_CURRENCY = "USD"
BASE_CURRENCY_PATH = "currency/options/base"
DISPLAY_CURRENCY_PATH = "currency/options/default"
#: "Disable Email Communications" (Stores > Configuration > Advanced > System > Mail Sending Settings).
EMAILS_DISABLED_PATH = "system/smtp/disable"
_STORE_CODES = re.compile(r"^storeCodes(\[[^\[\]]*\])?$")
#: Magento's store and website code rule (``Magento\Store\Model\Validation\StoreCodeValidator``).
_CODE = re.compile(r"^[a-z]+[a-z0-9_]*$", re.IGNORECASE)
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def config_value(conn: Connection, path: str, store_id: int) -> str | None:
    """``ScopeConfig::getValue($path, 'store', $storeId)``: the store view's value, else its website's, else default."""
    cfg, store = schema.core_config_data, schema.store
    website_id = conn.execute(select(store.c.website_id).where(store.c.store_id == store_id)).scalar()
    rows = conn.execute(select(cfg.c.scope, cfg.c.scope_id, cfg.c.value).where(cfg.c.path == path)).all()
    values = {(scope, scope_id): value for scope, scope_id, value in rows}
    for key in (("stores", store_id), ("websites", website_id), ("default", 0)):
        if key in values:
            return values[key]
    return None


def emails_disabled(conn: Connection, store_id: int | None) -> bool:
    """Whether Magento's ``system/smtp/disable`` is set for this store view (``TransportInterfacePlugin``)."""
    return config_value(conn, EMAILS_DISABLED_PATH, int(store_id or 0)) in ("1", "true")


def base_currency(conn: Connection, store_id: int) -> str:
    """The store view's base currency (set per website in a shop whose price scope is "Website")."""
    return config_value(conn, BASE_CURRENCY_PATH, store_id) or BASE_CURRENCY


def display_currency(conn: Connection, store_id: int) -> str:
    """The store view's default display currency (``currency/options/default``)."""
    return config_value(conn, DISPLAY_CURRENCY_PATH, store_id) or base_currency(conn, store_id)


def contexts(conn: Connection) -> dict[str, dict[str, Any]]:
    """code -> the store context of ``/rest/<code>/V1`` routes, every store view but admin."""
    rows = conn.execute(select(schema.store).where(schema.store.c.store_id != 0)).mappings()
    return {r["code"]: {"code": r["code"], "store_id": r["store_id"], "website_id": r["website_id"]} for r in rows}


def create_store(conn: Connection, _now: datetime, body: dict[str, Any]) -> dict[str, Any]:
    """Add a store view ``{code, name, website_code, currency, emails_disabled}``.

    A new ``website_code`` creates the website (base currency ``currency``) and its store group; an existing one
    must already have ``currency`` as base currency (Magento keeps the base currency per website). The store view
    gets ``currency`` as display currency and, with ``emails_disabled``, "Disable Email Communications".
    """
    code, website_code = body.get("code"), body.get("website_code") or "base"
    currency, name = body.get("currency"), body.get("name") or str(body.get("code") or "")
    for field, value in (("code", code), ("website_code", website_code)):
        if not isinstance(value, str) or not _CODE.match(value) or len(value) > 32:
            raise bad_request(
                f"{field} must start with a letter and hold only letters, digits and '_' (at most 32 characters)."
            )
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise bad_request("currency must be an ISO 4217 code such as GBP.")
    if not isinstance(body.get("emails_disabled", False), bool):
        raise bad_request("emails_disabled must be true or false.")
    store, website, group = schema.store, schema.store_website, schema.store_group
    if conn.execute(select(store.c.store_id).where(store.c.code == code)).first():
        raise bad_request("Store with the same code already exists.")
    website_id = conn.execute(select(website.c.website_id).where(website.c.code == website_code)).scalar()
    if website_id == 0:
        raise bad_request("The admin website cannot have store views.")
    store_id = int(conn.execute(select(func.max(store.c.store_id))).scalar() or 0) + 1
    cfg = schema.core_config_data
    if website_id is None:
        website_id = int(conn.execute(select(func.max(website.c.website_id))).scalar() or 0) + 1
        conn.execute(
            insert(website),
            dict(website_id=website_id, code=website_code, name=website_code.replace("_", " ").title(),
                 default_group_id=website_id, is_default=0),
        )  # fmt: skip
        group_id = int(conn.execute(select(func.max(group.c.group_id))).scalar() or 0) + 1
        conn.execute(
            insert(group),
            dict(group_id=group_id, website_id=website_id, name=f"{website_code.replace('_', ' ').title()} Store",
                 root_category_id=2, default_store_id=store_id, code=f"{website_code}_store"),
        )  # fmt: skip
        conn.execute(insert(cfg), dict(scope="websites", scope_id=website_id, path=BASE_CURRENCY_PATH, value=currency))
    else:
        existing = (
            conn.execute(
                select(cfg.c.value).where(
                    cfg.c.scope == "websites", cfg.c.scope_id == website_id, cfg.c.path == BASE_CURRENCY_PATH
                )
            ).scalar()
            or BASE_CURRENCY
        )
        if existing != currency:
            raise bad_request(
                f"Website {website_code} has base currency {existing}; add a {currency} store view to a "
                f"{currency} website (a new website_code creates one)."
            )
        group_id = conn.execute(select(group.c.group_id).where(group.c.website_id == website_id)).scalar()
    conn.execute(
        insert(store),
        dict(store_id=store_id, code=code, website_id=website_id, group_id=group_id, name=name, sort_order=store_id,
             is_active=1),
    )  # fmt: skip
    config = [dict(scope="stores", scope_id=store_id, path=DISPLAY_CURRENCY_PATH, value=currency)]
    if body.get("emails_disabled"):
        config.append(dict(scope="stores", scope_id=store_id, path=EMAILS_DISABLED_PATH, value="1"))
    conn.execute(insert(cfg), config)
    return {"id": store_id, "code": code, "name": name, "website_id": website_id, "store_group_id": group_id,
            "website_code": website_code, "currency": currency,
            "emails_disabled": bool(body.get("emails_disabled"))}  # fmt: skip


def store_views(conn: Connection) -> list[dict[str, Any]]:
    """``StoreRepository::getList``: every store view, the admin store (id 0) included."""
    rows = conn.execute(select(schema.store).order_by(schema.store.c.store_id)).mappings()
    return [
        {"id": r["store_id"], "code": r["code"], "name": r["name"], "website_id": r["website_id"],
         "store_group_id": r["group_id"]}
        for r in rows
    ]  # fmt: skip


def store_groups(conn: Connection) -> list[dict[str, Any]]:
    """``GroupRepository::getList``: every store group, the admin group (id 0) included."""
    rows = conn.execute(select(schema.store_group).order_by(schema.store_group.c.group_id)).mappings()
    return [
        {"id": r["group_id"], "website_id": r["website_id"], "root_category_id": r["root_category_id"],
         "default_store_id": r["default_store_id"], "name": r["name"], "code": r["code"]}
        for r in rows
    ]  # fmt: skip


def websites(conn: Connection) -> list[dict[str, Any]]:
    """``WebsiteRepository::getList``: every website, the admin website (id 0) included."""
    rows = conn.execute(select(schema.store_website).order_by(schema.store_website.c.website_id)).mappings()
    return [
        {"id": r["website_id"], "code": r["code"], "name": r["name"], "default_group_id": r["default_group_id"]}
        for r in rows
    ]


def store_codes(query: list[tuple[str, str]]) -> list[str] | None:
    """The ``storeCodes`` array of the query (``storeCodes[]=a&storeCodes[]=b`` or ``storeCodes[0]=a``), if any."""
    codes = [value for key, value in query if _STORE_CODES.match(key)]
    return codes or None


def store_configs(conn: Connection, codes: list[str] | None, base_url: str) -> list[dict[str, Any]]:
    """``StoreConfigManager::getStoreConfigs``: the configuration of each store view (not admin), or of ``codes``."""
    table = schema.store
    stmt = select(table).where(table.c.store_id != 0).order_by(table.c.store_id)
    if codes is not None:
        stmt = stmt.where(table.c.code.in_(codes))
    base = base_url.rstrip("/") + "/"
    out = []
    for row in conn.execute(stmt).mappings():
        locale, timezone, weight_unit = CONFIG.get(row["code"], CONFIG["default"])
        store_id = row["store_id"]
        out.append({
            "id": store_id, "code": row["code"], "website_id": row["website_id"], "locale": locale,
            "base_currency_code": base_currency(conn, store_id),
            "default_display_currency_code": display_currency(conn, store_id), "timezone": timezone,
            "weight_unit": weight_unit, "base_url": base, "base_link_url": base, "base_static_url": f"{base}static/",
            "base_media_url": f"{base}media/", "secure_base_url": base, "secure_base_link_url": base,
            "secure_base_static_url": f"{base}static/", "secure_base_media_url": f"{base}media/",
        })  # fmt: skip
    return out


def open_marketplace_stores(conn: Connection, now: datetime) -> list[str]:
    """A store view (e-mails disabled) for each marketplace of :data:`sandbox.catalog.MARKETPLACE_STORES` whose code
    the database does not have yet, by :func:`create_store`; returns the codes opened."""
    present = set(conn.execute(select(schema.store.c.code)).scalars())
    opened = []
    for marketplace, (code, website_code) in MARKETPLACE_STORES.items():
        if code in present:
            continue
        currency = MARKETPLACES[marketplace][1]
        create_store(conn, now, {"code": code, "name": f"Amazon {MARKETPLACES[marketplace][0]}",
                                 "website_code": website_code, "currency": currency, "emails_disabled": True})  # fmt: skip
        opened.append(code)
    return opened
