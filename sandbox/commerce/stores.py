"""Store lookups: ``GET /V1/store/storeViews``, ``storeGroups``, ``websites`` and ``storeConfigs``.

Like Magento's ``StoreRepository``, ``GroupRepository`` and ``WebsiteRepository``
the first three include the admin scope (id 0); ``storeConfigs`` (Magento's
``StoreConfigManager``) lists the store views only, optionally those named in
``storeCodes``. Configuration Magento keeps in ``core_config_data`` (locale,
time zone, weight unit, currencies, URLs) comes from :data:`CONFIG` and
:data:`sandbox.catalog.STORES`; the base URLs are the address the request came to.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from sandbox.catalog import STORES
from sandbox.commerce import schema

#: store view code -> (locale, time zone, weight unit): the sandbox's ``core_config_data``.
CONFIG: dict[str, tuple[str, str, str]] = {
    "default": ("en_US", "America/Los_Angeles", "lbs"),
    "amazon_ca": ("en_CA", "America/Toronto", "kgs"),
    "amazon_mx": ("es_MX", "America/Mexico_City", "kgs"),
}
#: The website's base currency (Magento's ``currency/options/base``), in which every order's base amounts are.
BASE_CURRENCY = "USD"
_STORE_CODES = re.compile(r"^storeCodes(\[[^\[\]]*\])?$")


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
        currency = STORES[row["code"]][2] if row["code"] in STORES else BASE_CURRENCY
        out.append({
            "id": row["store_id"], "code": row["code"], "website_id": row["website_id"], "locale": locale,
            "base_currency_code": BASE_CURRENCY, "default_display_currency_code": currency, "timezone": timezone,
            "weight_unit": weight_unit, "base_url": base, "base_link_url": base, "base_static_url": f"{base}static/",
            "base_media_url": f"{base}media/", "secure_base_url": base, "secure_base_link_url": base,
            "secure_base_static_url": f"{base}static/", "secure_base_media_url": f"{base}media/",
        })  # fmt: skip
    return out
