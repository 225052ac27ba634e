"""What each amazon_pii_retention task does: buyer data past retention leaves the channel DB and the landing store.

An order's buyer data is kept until its last Amazon update in a final status
(shipped, cancelled, unfulfillable: :data:`include.domain.buyer_data.RETENTION_STATUSES`) is
``pii_retention_days`` old (settings; 30 by default, Amazon's maximum after delivery).
Then the channel row keeps its ids, statuses, amounts, items, Commerce links and pushes, and its
payload only the fields of :data:`include.domain.buyer_data.KEPT_FIELDS`; every landed version
of the order (in any run's pages) is redacted the same way, in place, so the pages stay replayable.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from include import channel_db
from include.adapters.hooks.channel_db import channel_engine
from include.adapters.hooks.pii_key import buyer_cipher
from include.adapters.landing import default_landing_uri, landed_pages, rewrite_page
from include.adapters.task_failures import fail_fast_on_permanent_errors
from include.channel_db.buyer_data import purge_past_retention, purged_order_count, purged_order_ids
from include.domain.buyer_data import is_purged, past_retention, redact_order, retention_cutoff
from include.domain.settings import load_settings

log = logging.getLogger(__name__)


def _cutoff(now: datetime | None = None) -> tuple[datetime, int]:
    days = load_settings().pii_retention_days
    return retention_cutoff(now or datetime.now(UTC), days), days


@fail_fast_on_permanent_errors
def purge_channel_orders() -> dict[str, Any]:
    """Remove the buyer data of channel orders past retention; counts for the run report."""
    engine = channel_engine()
    channel_db.require_current(engine)
    cutoff, days = _cutoff()
    counts = purge_past_retention(engine, buyer_cipher(), cutoff=cutoff)
    log.info("purged the buyer data of %s orders last updated before %s", counts.purged, cutoff.isoformat())
    return {
        "retention_days": days,
        "cutoff": cutoff.isoformat(),
        "orders_purged": counts.purged,
        "orders_changed_meanwhile": counts.skipped,
    }


@fail_fast_on_permanent_errors
def purge_landing_pages(channel: dict[str, Any]) -> dict[str, Any]:
    """Redact, in every landing page, the orders purged in the channel DB and any landed order past retention."""
    settings = load_settings()
    engine = channel_engine()
    cipher = buyer_cipher()
    cutoff = datetime.fromisoformat(channel["cutoff"])
    now = datetime.now(UTC)
    pages = rewritten = redacted = 0

    def redact(orders: list[Any]) -> list[Any] | None:
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

    for page in landed_pages(settings.landing_uri or default_landing_uri(), settings.landing_conn_id):
        pages += 1
        rewritten += rewrite_page(page, cipher, redact)
    log.info("landing store: %s pages read, %s rewritten, %s landed orders redacted", pages, rewritten, redacted)
    return {"pages_read": pages, "pages_rewritten": rewritten, "landed_orders_redacted": redacted}


@fail_fast_on_permanent_errors
def summarize(channel: dict[str, Any], landing: dict[str, Any]) -> dict[str, Any]:
    """The run's counts (the run note shows them) and how many orders are purged overall."""
    total, last = purged_order_count(channel_engine())
    summary = {**channel, **landing, "orders_purged_total": total, "last_purged_at": last.isoformat() if last else None}
    log.info("retention summary: %s", summary)
    return summary
