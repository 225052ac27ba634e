"""What each amazon_pii_retention task does: buyer data past retention leaves the channel DB and the landing store.

An order's buyer data is kept until its last Amazon update in a final status
(shipped, cancelled, unfulfillable: :data:`include.domain.buyer_data.RETENTION_STATUSES`) is
``pii_retention_days`` old (the settings Variable of the order's seller account, from the accounts
file :mod:`include.adapters.accounts`; 30 by default, Amazon's maximum after delivery).
Then the channel row keeps its ids, statuses, amounts, items, Commerce links and pushes, and its
payload only the fields of :data:`include.domain.buyer_data.KEPT_FIELDS`; every landed version
of the order (in any run's pages) is redacted the same way, in place, so the pages stay replayable.
Each account's landing store (``landing_uri`` of its settings) is read once; a store several accounts
share uses the longest retention among them for the landed orders not purged in the channel DB yet.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from include import channel_db
from include.adapters.accounts import Account, load_accounts
from include.adapters.hooks.channel_db import channel_engine
from include.adapters.hooks.pii_key import buyer_cipher
from include.adapters.landing import default_landing_uri, landed_pages, rewrite_page
from include.adapters.task_failures import fail_fast_on_permanent_errors
from include.channel_db.buyer_data import purge_past_retention, purged_order_count, purged_order_ids
from include.domain.buyer_data import is_purged, past_retention, redact_order, retention_cutoff
from include.domain.settings import load_settings

log = logging.getLogger(__name__)


def _retention(account: Account, now: datetime) -> dict[str, Any]:
    """The account's retention (its settings Variable) and landing store: what both purge tasks need."""
    settings = load_settings(account.settings_variable)
    days = settings.pii_retention_days
    return {
        "retention_days": days,
        "cutoff": retention_cutoff(now, days).isoformat(),
        "landing_uri": settings.landing_uri or default_landing_uri(),
        "landing_conn_id": settings.landing_conn_id,
    }


@fail_fast_on_permanent_errors
def purge_channel_orders() -> dict[str, Any]:
    """Remove the buyer data of each account's channel orders past that account's retention; counts per account."""
    engine = channel_engine()
    channel_db.require_current(engine)
    cipher = buyer_cipher()
    now = datetime.now(UTC)
    accounts: dict[str, Any] = {}
    for account in load_accounts():
        retention = _retention(account, now)
        counts = purge_past_retention(
            engine, cipher, cutoff=datetime.fromisoformat(retention["cutoff"]), account=account.name
        )
        log.info(
            "account %s: purged the buyer data of %s orders last updated before %s",
            account.name,
            counts.purged,
            retention["cutoff"],
        )
        accounts[account.name] = {
            **retention,
            "orders_purged": counts.purged,
            "orders_changed_meanwhile": counts.skipped,
        }
    return {
        "accounts": accounts,
        "orders_purged": sum(a["orders_purged"] for a in accounts.values()),
        "orders_changed_meanwhile": sum(a["orders_changed_meanwhile"] for a in accounts.values()),
    }


def _stores(accounts: dict[str, Any]) -> dict[tuple[str, str | None], datetime]:
    """Each landing store in use and its cutoff: the earliest (longest retention) of the accounts sharing it."""
    stores: dict[tuple[str, str | None], datetime] = {}
    for retention in accounts.values():
        key = (retention["landing_uri"], retention["landing_conn_id"])
        cutoff = datetime.fromisoformat(retention["cutoff"])
        stores[key] = min(cutoff, stores.get(key, cutoff))
    return stores


@fail_fast_on_permanent_errors
def purge_landing_pages(channel: dict[str, Any]) -> dict[str, Any]:
    """Redact, in each account's landing store, the orders purged in the channel DB and any landed order past
    retention."""
    engine = channel_engine()
    cipher = buyer_cipher()
    now = datetime.now(UTC)
    pages = rewritten = redacted = 0

    for (uri, conn_id), cutoff in _stores(channel["accounts"]).items():

        def redact(orders: list[Any], cutoff: datetime = cutoff) -> list[Any] | None:
            nonlocal redacted
            ids = [o["orderId"] for o in orders if isinstance(o, dict) and isinstance(o.get("orderId"), str)]
            purged = purged_order_ids(engine, ids)
            out, changed = [], 0
            for order in orders:
                due = isinstance(order, dict) and not is_purged(order)
                if due and (order.get("orderId") in purged or past_retention(order, cutoff)):
                    order, changed = redact_order(order, now), changed + 1
                out.append(order)
            redacted += changed
            return out if changed else None

        for page in landed_pages(uri, conn_id):
            pages += 1
            rewritten += rewrite_page(page, cipher, redact)
    log.info("landing stores: %s pages read, %s rewritten, %s landed orders redacted", pages, rewritten, redacted)
    return {"pages_read": pages, "pages_rewritten": rewritten, "landed_orders_redacted": redacted}


@fail_fast_on_permanent_errors
def summarize(channel: dict[str, Any], landing: dict[str, Any]) -> dict[str, Any]:
    """The run's counts (the run note shows them) and how many orders are purged overall."""
    total, last = purged_order_count(channel_engine())
    summary = {**channel, **landing, "orders_purged_total": total, "last_purged_at": last.isoformat() if last else None}
    log.info("retention summary: %s", summary)
    return summary
