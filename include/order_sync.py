"""What each amazon_order_sync task does (the DAG file only wires these together).

Each function opens what it needs through the hooks (``amazon_sp_api``,
``commerce_api``, ``channel_db``) and the validated settings Variable, and
returns a small JSON-able manifest for XCom: counts, ids, landing paths —
never order batches.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from include import channel_db
from include.hooks.channel_db import channel_engine
from include.landing import default_landing_uri, read_orders, write_pages
from include.mapping import MappingError, StoreRef
from include.order_import import ImportResult, apply_amazon_changes, import_order, settle_canceled_order
from include.settings import OrderSettings, load_settings
from include.staging import StagingError, batched, flatten
from include.windows import compute_window

log = logging.getLogger(__name__)

JOB = "amazon_order_sync"
#: Sections of the Order that staging and mapping read (searchOrders/getOrder ``includedData``).
INCLUDED_DATA = ["BUYER", "RECIPIENT", "PROCEEDS", "PROMOTION", "CANCELLATION", "FULFILLMENT", "PACKAGES"]
#: Orders per staging batch: bounds memory whatever the window size.
STAGE_BATCH = 1000
GROUP_TASKS = {"MERCHANT": "merchant_fulfilled", "AMAZON": "fulfilled_by_amazon"}
#: Failures listed per task result and in the run summary (the quarantine view has them all).
MAX_LISTED_FAILURES = 25


def plan_run(params: dict | None, data_interval_start: datetime | None, data_interval_end: datetime | None) -> dict:
    """The run's plan: a ``lastUpdatedTime`` window, or an explicit list of Amazon order ids."""
    params = dict(params or {})
    settings = load_settings()
    engine = channel_engine()
    channel_db.create_schema(engine)
    ids = sorted(set(params.get("amazon_order_ids") or []))
    plan: dict[str, Any] = {"dry_run": bool(params.get("dry_run")), "amazon_order_ids": ids}
    if ids:
        return {**plan, "mode": "orders", "start": None, "end": None, "empty": False}
    window = compute_window(
        data_interval_start=data_interval_start,
        data_interval_end=data_interval_end,
        now=datetime.now(UTC),
        overlap=timedelta(minutes=settings.overlap_minutes),
        high_water_mark=channel_db.high_water_mark(engine, JOB),
        window_start=params.get("window_start"),
        window_end=params.get("window_end"),
    )
    bounds = window.to_dict()
    log.info("window %s → %s%s", bounds["start"], bounds["end"], " (empty)" if window.empty else "")
    return {**plan, "mode": "window", **bounds}


def extract(plan: dict, run_id: str | None) -> dict:
    """Page through searchOrders (or getOrder per id) into NDJSON in the landing store."""
    from include.amazon.errors import SpApiError
    from include.hooks.amazon_sp_api import SpApiHook

    settings = load_settings()
    landing, conn_id = settings.landing_uri or default_landing_uri(), settings.landing_conn_id
    run_key = run_id or datetime.now(UTC).strftime("manual__%Y%m%dT%H%M%S")
    if plan["empty"]:
        return {"landing": write_pages(landing, run_key, [], conn_id=conn_id).to_dict(), "orders": 0, "not_found": []}
    hook = SpApiHook()
    not_found: list[str] = []
    with hook.get_client() as client:
        if plan["mode"] == "orders":

            def pages():
                for ids in batched(plan["amazon_order_ids"], 100):
                    page = []
                    for order_id in ids:
                        try:
                            page.append(client.get_order(order_id, included_data=INCLUDED_DATA))
                        except SpApiError as exc:
                            if exc.status != 404:
                                raise
                            not_found.append(order_id)
                    yield page

            manifest = write_pages(landing, run_key, pages(), conn_id=conn_id)
        else:
            manifest = write_pages(
                landing,
                run_key,
                client.search_orders(
                    marketplace_ids=hook.marketplace_ids,
                    last_updated_after=plan["start"],
                    last_updated_before=plan["end"],
                    included_data=INCLUDED_DATA,
                ),
                conn_id=conn_id,
            )
    log.info("extracted %s orders in %s pages; %s ids not found", manifest.orders, manifest.pages, len(not_found))
    return {"landing": manifest.to_dict(), "orders": manifest.orders, "not_found": not_found}


def stage(plan: dict, landed: dict) -> dict:
    """Upsert the landed orders into the channel tables in batches; move the high-water mark."""
    settings = load_settings()
    engine = channel_engine()
    totals: Counter[str] = Counter()
    rejected: list[dict[str, str]] = []
    for batch in batched(read_orders(landed["landing"], conn_id=settings.landing_conn_id), STAGE_BATCH):
        orders_df, items_df = _flatten_tolerant(batch, rejected)
        totals.update(channel_db.upsert_staged(engine, orders_df, items_df).to_dict())
    if plan["mode"] == "window" and not plan["empty"]:
        channel_db.set_high_water_mark(engine, JOB, datetime.fromisoformat(plan["end"]))
    result = {key: totals[key] for key in ("orders", "new", "updated", "unchanged", "items")}
    result["rejected"] = rejected[:MAX_LISTED_FAILURES]
    result["rejected_count"] = len(rejected)
    result["not_found"] = landed.get("not_found", [])
    log.info("staged %s", {k: v for k, v in result.items() if k not in ("rejected", "not_found")})
    return result


def _flatten_tolerant(batch: list[dict], rejected: list[dict[str, str]]):
    """Flatten a batch; a malformed order is set aside with its reason and the rest goes on."""
    try:
        return flatten(batch)
    except (StagingError, MappingError):
        good = []
        for order in batch:
            try:
                flatten([order])
            except (StagingError, MappingError) as exc:
                rejected.append(
                    {"amazon_order_id": str(order.get("orderId", "?")), "reason": f"malformed order: {exc}"}
                )
                log.warning("rejected malformed order %s: %s", order.get("orderId", "?"), exc)
            else:
                good.append(order)
        return flatten(good)


def groups_with_work(plan: dict) -> list[str]:
    """The fulfilment groups this run must run; records why the others have nothing to do."""
    if plan["dry_run"]:
        log.info("dry run: nothing is written to Commerce")
        return []
    settings = load_settings()
    engine = channel_engine()
    only_ids = plan["amazon_order_ids"] or None
    if not settings.import_enabled:
        for channel in GROUP_TASKS:
            channel_db.record_skipped(
                engine, fulfilled_by=channel, reason="order import is disabled in amazon_order_settings"
            )
        return []
    if not settings.fba_import:
        channel_db.record_skipped(
            engine, fulfilled_by="AMAZON", reason="FBA import is disabled in amazon_order_settings"
        )
    groups = []
    for channel, group in GROUP_TASKS.items():
        work = channel_db.orders_to_import(engine, fulfilled_by=channel, settings=settings, limit=1, only_ids=only_ids)
        changes = channel_db.orders_needing_update(engine, fulfilled_by=channel, limit=1, only_ids=only_ids)
        if channel == "MERCHANT":
            changes = changes or channel_db.canceled_orders_to_settle(engine, limit=1)
        if work or (changes and channel == "MERCHANT"):
            groups.append(group)
    return groups


def import_chunks(fulfilled_by: str, plan: dict) -> list[list[str]]:
    """The ids of the orders to import now, in chunks of ``chunk_size`` (one mapped task each)."""
    settings = load_settings()
    ids = channel_db.order_ids_to_import(
        channel_engine(), fulfilled_by=fulfilled_by, settings=settings, only_ids=plan["amazon_order_ids"] or None
    )
    log.info("%s %s orders to import", len(ids), fulfilled_by)
    return list(batched(ids, settings.chunk_size))


def import_chunk(fulfilled_by: str, ids: list[str]) -> dict:
    """Import one chunk concurrently (``commerce_concurrency``) and record every outcome."""
    from include.hooks.commerce_api import CommerceHook

    settings = load_settings()
    engine = channel_engine()
    orders = channel_db.orders_to_import(engine, fulfilled_by=fulfilled_by, settings=settings, only_ids=ids)
    with CommerceHook().get_client() as client:

        def run(order: channel_db.ChannelOrder) -> ImportResult:
            return _in_store(
                settings, order, lambda store: import_order(client, order.payload, settings=settings, store=store)
            )

        results = client.map_concurrent(run, orders, settings.commerce_concurrency)
    results = [_as_result(order, result) for order, result in zip(orders, results, strict=True)]
    with engine.begin() as conn:
        for order, result in zip(orders, results, strict=True):
            if result.ok:
                channel_db.record_imported(
                    conn, order.amazon_order_id, result.commerce_order_id, result.increment_id,
                    fingerprint=order.fingerprint,
                )  # fmt: skip
        channel_db.record_failures(conn, [(r.amazon_order_id, r.reason) for r in results if not r.ok])
    return _tally(results)


def apply_changes(plan: dict) -> dict:
    """Carry Amazon's later changes (cancellation, buyer details) into already imported MFN orders."""
    from include.hooks.commerce_api import CommerceHook

    settings = load_settings()
    engine = channel_engine()
    orders = channel_db.orders_needing_update(
        engine, fulfilled_by="MERCHANT", only_ids=plan["amazon_order_ids"] or None
    )
    to_settle = channel_db.canceled_orders_to_settle(engine)
    if plan["amazon_order_ids"]:
        to_settle = [order for order in to_settle if order.amazon_order_id in set(plan["amazon_order_ids"])]
    if not orders and not to_settle:
        return _tally([])
    with CommerceHook().get_client() as client:

        def run(order: channel_db.ChannelOrder) -> ImportResult:
            return _in_store(
                settings,
                order,
                lambda store: apply_amazon_changes(
                    client, order.payload, commerce_order_id=order.commerce_order_id, settings=settings, store=store
                ),
            )

        results = client.map_concurrent(run, orders, settings.commerce_concurrency)
        settled = client.map_concurrent(
            lambda order: settle_canceled_order(client, order.payload), to_settle, settings.commerce_concurrency
        )
    results = [_as_result(order, result) for order, result in zip(orders, results, strict=True)]
    settled = [_as_result(order, result) for order, result in zip(to_settle, settled, strict=True)]
    with engine.begin() as conn:
        for order, result in zip(orders, results, strict=True):
            if result.ok:
                channel_db.record_updated(
                    conn, order.amazon_order_id, fingerprint=order.fingerprint,
                    canceled=result.outcome in ("canceled", "refunded"),
                )  # fmt: skip
        for order, result in zip(to_settle, settled, strict=True):
            if result.commerce_order_id is not None:  # the failed attempt had created it: link, then mark canceled
                channel_db.record_imported(
                    conn, order.amazon_order_id, result.commerce_order_id, result.increment_id,
                    fingerprint=order.fingerprint,
                )  # fmt: skip
                channel_db.record_updated(conn, order.amazon_order_id, fingerprint=order.fingerprint, canceled=True)
            elif result.ok:
                channel_db.record_cancel_settled(conn, order.amazon_order_id)
        failed = [r for r in (*results, *settled) if not r.ok]
        channel_db.record_failures(conn, [(r.amazon_order_id, r.reason) for r in failed])
    return _tally([*results, *settled])


def summarize(plan: dict, staged: dict, results: list[dict | None]) -> dict:
    """The run's counts per outcome, the orders kept out with their reasons, and the channel totals."""
    outcomes: Counter[str] = Counter()
    failures: list[dict[str, str]] = []
    for result in results:
        if result:
            outcomes.update(result["outcomes"])
            failures.extend(result["failures"])
    engine = channel_engine()
    summary = {
        "window": None if plan["mode"] == "orders" else {"start": plan["start"], "end": plan["end"]},
        "amazon_order_ids": plan["amazon_order_ids"],
        "dry_run": plan["dry_run"],
        "staged": {k: staged[k] for k in ("orders", "new", "updated", "unchanged")},
        "rejected": staged["rejected"],
        "not_found": staged["not_found"],
        "outcomes": dict(sorted(outcomes.items())),
        "failures": failures[:MAX_LISTED_FAILURES],
        "quarantined_total": len(channel_db.quarantine(engine)),
        "channel_totals": channel_db.outcome_counts(engine),
    }
    log.info("run summary: %s", {k: summary[k] for k in ("staged", "outcomes", "quarantined_total")})
    return summary


def store_ref(settings: OrderSettings, marketplace_id: str) -> StoreRef | None:
    """The Commerce store view for a marketplace, per ``store_by_marketplace`` and ``stores``."""
    code = settings.store_code_for(marketplace_id)
    store = settings.stores.get(code) if code else None
    if store is None:
        return None
    return StoreRef(
        store_id=store["store_id"], website_id=store["website_id"], code=code, currency=store.get("currency")
    )


def _in_store(
    settings: OrderSettings, order: channel_db.ChannelOrder, action: Callable[[StoreRef], ImportResult]
) -> ImportResult:
    """``action`` with the order's Commerce store view, or a failure naming the unmapped marketplace."""
    store = store_ref(settings, order.marketplace_id)
    if store is None:
        reason = f"marketplace {order.marketplace_id} has no Commerce store in amazon_order_settings (store_by_marketplace/stores)"
        return ImportResult(order.amazon_order_id, "failed", reason=reason)
    return action(store)


def _as_result(order: channel_db.ChannelOrder, result: ImportResult | BaseException) -> ImportResult:
    if isinstance(result, BaseException):
        log.exception("unexpected error on order %s", order.amazon_order_id, exc_info=result)
        return ImportResult(order.amazon_order_id, "failed", reason=f"unexpected error: {type(result).__name__}")
    return result


def _tally(results: list[ImportResult]) -> dict:
    outcomes = Counter(result.outcome for result in results)
    outcomes["customers_created"] = sum(result.customer_created for result in results)
    failures = [{"amazon_order_id": r.amazon_order_id, "reason": r.reason} for r in results if not r.ok]
    for failure in failures[:MAX_LISTED_FAILURES]:
        log.warning("order %s kept out: %s", failure["amazon_order_id"], failure["reason"])
    return {"orders": len(results), "outcomes": dict(outcomes), "failures": failures[:MAX_LISTED_FAILURES]}
