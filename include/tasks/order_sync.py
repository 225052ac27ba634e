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
from include.adapters.accounts import DEFAULT_ACCOUNT, Account
from include.adapters.dag_defaults import order_ids, run_params
from include.adapters.hooks.channel_db import channel_engine
from include.adapters.hooks.pii_key import buyer_cipher
from include.adapters.landing import LandedOrder, default_landing_uri, read_landed, write_pages
from include.adapters.leases import task_lease
from include.adapters.task_failures import fail_fast_on_permanent_errors
from include.channel_db import StageResult
from include.clients.commerce.errors import CommerceUnavailable
from include.domain.buyer_data import BuyerDataCipher, is_purged
from include.domain.commerce_stores import StoreSetup, commerce_stores, resolve_stores
from include.domain.import_rules import IMPORTABLE_STATUSES, skip_reason, statuses_to_import
from include.domain.mapping import StoreRef
from include.domain.marketplaces import label
from include.domain.order_validation import InvalidOrder, order_id_of, validate_order
from include.domain.retry_policy import WAITS_FOR_OPERATOR, RetryPolicy
from include.domain.run_plans import SyncPlan
from include.domain.settings import OrderSettings, load_settings
from include.domain.staging import RejectedOrder, batched, flatten
from include.domain.windows import compute_window
from include.tasks.order_import import (
    ImportResult,
    _commerce_reason,
    apply_amazon_changes,
    import_order,
    settle_canceled_order,
)

log = logging.getLogger(__name__)

JOB = "amazon_order_sync"
#: Sections of the Order that staging and mapping read (searchOrders/getOrder ``includedData``).
INCLUDED_DATA = ["BUYER", "RECIPIENT", "PROCEEDS", "PROMOTION", "CANCELLATION", "FULFILLMENT", "PACKAGES", "TAX"]
#: Orders per staging batch: bounds memory whatever the window size.
STAGE_BATCH = 1000
#: Amazon's fulfilment channels (``fulfilledBy``); the DAG has one task group for each.
CHANNELS = ("MERCHANT", "AMAZON")
#: Failures listed per task result and in the run summary (the quarantine view has them all).
MAX_LISTED_FAILURES = 25
#: Orders kept out listed in a run summary, each list (this run's, earlier runs'): all of them, short of a disaster.
KEPT_OUT_LISTED = 1000
#: Outcomes of merchant-fulfilled orders that the tracking push acts on (an order new or changed in Commerce).
PUSH_RELEVANT_OUTCOMES = ("imported", "healed", "updated", "released", "canceled", "refunded")


@fail_fast_on_permanent_errors
def plan_run(
    params: dict | None,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    run_type: str | None = None,
    *,
    account: Account = DEFAULT_ACCOUNT,
) -> dict:
    """The run's plan (of ``account``): a ``lastUpdatedTime`` window, or an explicit list of Amazon order ids.

    A backfill run ignores the single-run params (:func:`include.adapters.dag_defaults.run_params`)
    and reads its own data interval; the plan lists what it ignored.
    """
    params, ignored = run_params(params, run_type)
    settings = load_settings(account.settings_variable)
    engine = channel_engine()
    channel_db.require_current(engine)
    ids = order_ids(params)
    now = datetime.now(UTC)
    common = {"dry_run": bool(params.get("dry_run")), "planned_at": now, "ignored_params": ignored}
    if ids:
        return SyncPlan(mode="orders", amazon_order_ids=ids, **common).to_xcom()
    window = compute_window(
        data_interval_start=data_interval_start,
        data_interval_end=data_interval_end,
        now=now,
        overlap=timedelta(minutes=settings.overlap_minutes),
        high_water_mark=channel_db.high_water_mark(engine, JOB, account.name),
        window_start=params.get("window_start"),
        window_end=params.get("window_end"),
    )
    plan = SyncPlan(mode="window", start=window.start, end=window.end, empty=window.empty, **common)
    log.info("window %s → %s%s", plan.window["start"], plan.window["end"], " (empty)" if plan.empty else "")
    return plan.to_xcom()


@fail_fast_on_permanent_errors
def extract(plan: SyncPlan | dict, run_id: str | None, *, account: Account = DEFAULT_ACCOUNT) -> dict:
    """Page through searchOrders (or getOrder per id) into NDJSON in the landing store."""
    plan = SyncPlan.from_xcom(plan)
    from include.adapters.hooks.amazon_sp_api import SpApiHook
    from include.clients.amazon.errors import SpApiError

    settings = load_settings(account.settings_variable)
    cipher = buyer_cipher()  # before anything is fetched: no key, no buyer data stored
    landing, conn_id = settings.landing_uri or default_landing_uri(), settings.landing_conn_id
    run_key = run_id or datetime.now(UTC).strftime("manual__%Y%m%dT%H%M%S")
    if plan.empty:
        manifest = write_pages(landing, run_key, [], conn_id=conn_id, cipher=cipher)
        return {"landing": manifest.to_dict(), "orders": 0, "not_found": []}
    hook = SpApiHook(account.conn_id)
    not_found: list[str] = []
    with hook.get_client() as client:
        traffic = client.stats
        if plan.mode == "orders":

            def pages():
                for ids in batched(plan.amazon_order_ids, 100):
                    page = []
                    for order_id in ids:
                        try:
                            page.append(client.get_order(order_id, included_data=INCLUDED_DATA))
                        except SpApiError as exc:
                            if exc.status != 404:
                                raise
                            not_found.append(order_id)
                    yield page

            manifest = write_pages(landing, run_key, pages(), conn_id=conn_id, cipher=cipher)
        else:
            manifest = write_pages(
                landing,
                run_key,
                client.search_orders(
                    marketplace_ids=hook.marketplace_ids(client),
                    last_updated_after=plan.start,
                    last_updated_before=plan.end,
                    included_data=INCLUDED_DATA,
                ),
                conn_id=conn_id,
                cipher=cipher,
            )
    log.info("extracted %s orders in %s pages; %s ids not found", manifest.orders, manifest.pages, len(not_found))
    return {
        "landing": manifest.to_dict(), "orders": manifest.orders, "not_found": not_found, "sp_api": traffic.calls()
    }  # fmt: skip


@fail_fast_on_permanent_errors
def stage(plan: SyncPlan | dict, landed: dict, *, account: Account = DEFAULT_ACCOUNT) -> dict:
    """Upsert the landed orders into the channel tables in batches; move the high-water mark.

    Each order is validated first; a malformed one, or one the database refuses, is
    set aside with its reason and landing page (``channel_order_rejection``) and
    the rest of the batch goes on.
    """
    plan = SyncPlan.from_xcom(plan)
    settings = load_settings(account.settings_variable)
    engine = channel_engine()
    cipher = buyer_cipher()
    totals = StageResult(0, 0, 0, 0, 0, 0)
    rejected: list[RejectedOrder] = []
    for batch in batched(read_landed(landed["landing"], conn_id=settings.landing_conn_id, cipher=cipher), STAGE_BATCH):
        staged, set_aside = _stage_batch(engine, batch, cipher, account.name)
        totals += staged
        rejected += set_aside
    if plan.moves_high_water_mark:
        channel_db.set_high_water_mark(engine, JOB, plan.end, account=account.name)
    result = {key: getattr(totals, key) for key in ("orders", "new", "updated", "unchanged", "items")}
    result["rejected"] = [r.to_dict() for r in rejected[:MAX_LISTED_FAILURES]]
    result["rejected_count"] = len(rejected)
    result["not_found"] = landed.get("not_found", [])
    log.info("staged %s", {k: v for k, v in result.items() if k not in ("rejected", "not_found")})
    return result


def _stage_batch(
    engine, batch: list[LandedOrder], cipher: BuyerDataCipher, account: str
) -> tuple[StageResult, list[RejectedOrder]]:
    """Validate, flatten and upsert one batch as ``account``'s orders; record (and return) the orders set aside,
    clear the mended ones."""
    set_aside: list[RejectedOrder] = []

    def malformed(position: int, exc: InvalidOrder) -> None:
        set_aside.append(RejectedOrder(exc.amazon_order_id, f"malformed order: {exc.reason}", batch[position].source))

    orders_df, items_df = flatten([landed.order for landed in batch], on_invalid=malformed)
    orders_df["account"] = account
    staged, refused = channel_db.upsert_staged_isolating(
        engine, orders_df, items_df, importable=IMPORTABLE_STATUSES, cipher=cipher
    )
    if refused:
        source_of = {order_id_of(landed.order): landed.source for landed in batch}
        set_aside += [
            RejectedOrder(amazon_id, f"the channel database refused it: {reason}", source_of.get(amazon_id))
            for amazon_id, reason in refused
        ]
    refused_ids = {amazon_id for amazon_id, _ in refused}
    channel_db.clear_rejections(engine, [i for i in orders_df["amazon_order_id"].tolist() if i not in refused_ids])
    channel_db.record_rejections(engine, set_aside, account=account)
    for rejection in set_aside:
        log.warning("set aside order %s: %s", rejection.amazon_order_id or "?", rejection.reason)
    return staged, set_aside


@fail_fast_on_permanent_errors
def channels_with_work(plan: SyncPlan | dict, *, account: Account = DEFAULT_ACCOUNT) -> list[str]:
    """The fulfilment channels (:data:`CHANNELS`) with work this run; records why the others have none.

    With work to do, the settings' store views are first checked against Commerce (:func:`store_setup`):
    a missing store view or a currency mismatch fails the run here, before anything is imported.
    """
    plan = SyncPlan.from_xcom(plan)
    if plan.dry_run:
        log.info("dry run: nothing is written to Commerce")
        return []
    settings = load_settings(account.settings_variable)
    engine = channel_engine()
    only_ids = plan.only_ids
    for channel in CHANNELS:
        reason = skip_reason(channel, settings)
        if reason:
            channel_db.record_skipped(engine, fulfilled_by=channel, reason=reason, account=account.name)
    if not settings.import_enabled:
        return []
    cipher = buyer_cipher()
    busy = []
    for channel in CHANNELS:
        statuses = statuses_to_import(channel, settings)
        work = channel_db.orders_to_import(
            engine,
            fulfilled_by=channel,
            statuses=statuses,
            cipher=cipher,
            limit=1,
            only_ids=only_ids,
            retry=settings.retry_policy,
            account=account.name,
        )
        changes = channel_db.orders_needing_update(
            engine, cipher=cipher, fulfilled_by=channel, limit=1, only_ids=only_ids, account=account.name
        )
        if channel == "MERCHANT":
            changes = changes or channel_db.canceled_orders_to_settle(
                engine, cipher=cipher, limit=1, account=account.name
            )
        if work or (changes and channel == "MERCHANT"):
            busy.append(channel)
    if busy:  # the store map must fit Commerce before anything is imported (a SettingsError fails the run)
        from include.adapters.hooks.commerce_api import CommerceHook

        with CommerceHook().get_client() as client:
            stores = _lookup_stores(client, settings)
        for line in stores.describe() if isinstance(stores, StoreSetup) else ():
            log.info("store: %s", line)
    return busy


@fail_fast_on_permanent_errors
def import_chunks(fulfilled_by: str, plan: SyncPlan | dict, *, account: Account = DEFAULT_ACCOUNT) -> list[list[str]]:
    """The ids of the orders to import now, in chunks of ``chunk_size`` (one mapped task each)."""
    plan = SyncPlan.from_xcom(plan)
    settings = load_settings(account.settings_variable)
    ids = channel_db.order_ids_to_import(
        channel_engine(),
        fulfilled_by=fulfilled_by,
        statuses=statuses_to_import(fulfilled_by, settings),
        only_ids=plan.only_ids,
        retry=settings.retry_policy,
        account=account.name,
    )
    log.info("%s %s orders to import", len(ids), fulfilled_by)
    return list(batched(ids, settings.chunk_size))


@fail_fast_on_permanent_errors
def import_chunk(fulfilled_by: str, ids: list[str], *, account: Account = DEFAULT_ACCOUNT) -> dict:
    """Import one chunk concurrently (``commerce_concurrency``) and record every outcome.

    The chunk's orders are claimed first (:mod:`include.channel_db.leases`): orders another task holds
    (an overlapping backfill or manual run) are left to it and counted as ``claimed_elsewhere``.
    """
    settings = load_settings(account.settings_variable)
    engine = channel_engine()
    statuses = statuses_to_import(fulfilled_by, settings)
    with channel_db.holding_leases(engine, task_lease(settings.lease_seconds)) as lease:
        claimed = channel_db.claim_orders(engine, ids, lease)
        # Read after the claim: an order another task imported meanwhile is no longer importable.
        orders = channel_db.orders_to_import(
            engine, fulfilled_by=fulfilled_by, statuses=statuses, cipher=buyer_cipher(), only_ids=claimed,
            account=account.name,
        )  # fmt: skip
        tally = _import_claimed(orders, settings) if orders else _tally([])
    return _with_claimed_elsewhere(tally, len(ids) - len(claimed))


def _import_claimed(orders: list[channel_db.ChannelOrder], settings: OrderSettings) -> dict:
    """Import the orders this task holds, concurrently, and record every outcome."""
    from include.adapters.hooks.commerce_api import CommerceHook

    engine = channel_engine()
    with CommerceHook().get_client() as client:
        stores = _lookup_stores(client, settings)
        raw = _map_in_stores(
            client, stores, orders, settings,
            lambda order, store: import_order(
                client, order.payload, settings=settings, store=store,
                customer_store=stores.customer_store(store.website_id),
            ),
        )  # fmt: skip
    results = [_as_result(order, result) for order, result in zip(orders, raw, strict=True)]
    with engine.begin() as conn:
        for order, result in zip(orders, results, strict=True):
            if result.ok:
                channel_db.record_imported(
                    conn, order.amazon_order_id, result.commerce_order_id, result.increment_id,
                    fingerprint=order.fingerprint,
                )  # fmt: skip
        channel_db.record_failures(
            conn, [(r.amazon_order_id, r.reason) for r in results if not r.ok], retry=settings.retry_policy
        )
    _fail_loudly_on_unexpected(orders, raw)
    return _tally(results)


@fail_fast_on_permanent_errors
def apply_changes(plan: SyncPlan | dict, *, account: Account = DEFAULT_ACCOUNT) -> dict:
    """Carry Amazon's later changes (cancellation, buyer details) into already imported MFN orders.

    The orders are claimed first, as in :func:`import_chunk`: those another task holds are left to it.
    """
    plan = SyncPlan.from_xcom(plan)
    settings = load_settings(account.settings_variable)
    engine = channel_engine()
    cipher = buyer_cipher()

    def work(only_ids: list[str] | None) -> tuple[list[channel_db.ChannelOrder], list[channel_db.ChannelOrder]]:
        orders = channel_db.orders_needing_update(
            engine, cipher=cipher, fulfilled_by="MERCHANT", only_ids=only_ids, account=account.name
        )
        to_settle = channel_db.canceled_orders_to_settle(engine, cipher=cipher, account=account.name)
        if only_ids is not None:
            chosen = set(only_ids)
            to_settle = [order for order in to_settle if order.amazon_order_id in chosen]
        return orders, to_settle

    orders, to_settle = work(plan.only_ids)
    if not orders and not to_settle:
        return _tally([])
    wanted = [order.amazon_order_id for order in (*orders, *to_settle)]
    with channel_db.holding_leases(engine, task_lease(settings.lease_seconds)) as lease:
        claimed = channel_db.claim_orders(engine, wanted, lease)
        orders, to_settle = work(claimed)  # read again: another task may have applied some changes meanwhile
        tally = _apply_claimed(orders, to_settle, settings) if orders or to_settle else _tally([])
    return _with_claimed_elsewhere(tally, len(set(wanted)) - len(claimed))


def _apply_claimed(
    orders: list[channel_db.ChannelOrder], to_settle: list[channel_db.ChannelOrder], settings: OrderSettings
) -> dict:
    """Apply Amazon's changes to the imported orders and settle the cancelled ones this task holds."""
    from include.adapters.hooks.commerce_api import CommerceHook

    engine = channel_engine()
    with CommerceHook().get_client() as client:
        stores = _lookup_stores(client, settings)
        raw = _map_in_stores(
            client, stores, orders, settings,
            lambda order, store: apply_amazon_changes(
                client, order.payload, commerce_order_id=order.commerce_order_id, settings=settings, store=store
            ),
        )  # fmt: skip
        raw_settled = client.map_concurrent(
            lambda order: settle_canceled_order(client, order.payload), to_settle, settings.commerce_concurrency
        )
    results = [_as_result(order, result) for order, result in zip(orders, raw, strict=True)]
    settled = [_as_result(order, result) for order, result in zip(to_settle, raw_settled, strict=True)]
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
        channel_db.record_failures(conn, [(r.amazon_order_id, r.reason) for r in failed], retry=settings.retry_policy)
    _fail_loudly_on_unexpected([*orders, *to_settle], [*raw, *raw_settled])
    return _tally([*results, *settled])


@fail_fast_on_permanent_errors
def summarize(
    plan: SyncPlan | dict, staged: dict, results: dict[str, list[dict | None]], *, account: Account = DEFAULT_ACCOUNT
) -> dict:
    """The run's counts per outcome, the orders kept out with their reasons, and the channel totals.

    ``results`` are the import and update task results per fulfilment channel. Orders
    kept out are split into this run's orders (read from Amazon by this run, or set
    aside as malformed) and the rest, still kept out from earlier runs; both lists are
    complete up to :data:`KEPT_OUT_LISTED` each (the run note links to them).
    """
    plan = SyncPlan.from_xcom(plan)
    outcomes: Counter[str] = Counter()
    failures: list[dict[str, str]] = []
    changed_for_push = 0
    for channel, channel_results in results.items():
        for result in channel_results:
            if result:
                outcomes.update(result["outcomes"])
                failures.extend(result["failures"])
                if channel == "MERCHANT":
                    changed_for_push += sum(result["outcomes"].get(k, 0) for k in PUSH_RELEVANT_OUTCOMES)
    engine = channel_engine()
    policy = load_settings(account.settings_variable).retry_policy
    now = datetime.now(UTC)
    # Orders staged at or after the plan were read by this run (a plan from before this field: none were).
    planned_at = plan.planned_at or datetime.max.replace(tzinfo=UTC)
    this_run: dict[str, dict[str, Any]] = {r["amazon_order_id"]: dict(r) for r in staged["rejected"]}
    earlier: list[dict[str, Any]] = []
    retried_earlier = waiting = 0
    for order in channel_db.quarantine(engine, account=account.name):
        entry = kept_out_entry(order, policy, now)
        waiting += entry.get("next_try") == WAITS_FOR_OPERATOR
        if order.last_seen_at >= planned_at:
            this_run.setdefault(order.amazon_order_id, entry)
        else:
            earlier.append({**entry, "kept_out_since": order.to_dict()["first_failed_at"] or "-"})
            retried_earlier += bool(order.last_attempt_at and order.last_attempt_at >= planned_at)
    summary = {
        "window": plan.window,
        "amazon_order_ids": plan.amazon_order_ids,
        "dry_run": plan.dry_run,
        "ignored_params": plan.ignored_params,
        "staged": {k: staged[k] for k in ("orders", "new", "updated", "unchanged")},
        "rejected": staged["rejected"],
        "rejected_count": staged.get("rejected_count", len(staged["rejected"])),
        "not_found": staged["not_found"],
        "outcomes": dict(sorted(outcomes.items())),
        "failures": failures[:MAX_LISTED_FAILURES],
        "changed_for_push": changed_for_push,
        "kept_out": {
            "this_run": len(this_run),
            "earlier": len(earlier),
            "earlier_retried": retried_earlier,
            "waiting_for_operator": waiting,
        },
        "kept_out_this_run": list(this_run.values())[:KEPT_OUT_LISTED],
        "kept_out_earlier": earlier[:KEPT_OUT_LISTED],
        "quarantined_total": len(this_run) + len(earlier),
        "channel_totals": channel_db.outcome_counts(engine, account=account.name),
        "account": account.name,
    }
    log.info("run summary: %s", {k: summary[k] for k in ("staged", "outcomes", "kept_out", "changed_for_push")})
    return summary


def kept_out_entry(order: channel_db.QuarantinedOrder, policy: RetryPolicy, now: datetime) -> dict[str, Any]:
    """One order kept out as the run summary lists it: reason, attempts, first failure and next try."""
    entry: dict[str, Any] = {"amazon_order_id": order.amazon_order_id, "reason": order.reason}
    if order.import_status == "failed":
        entry.update(
            attempts=order.attempts,
            first_failed_at=order.to_dict()["first_failed_at"],
            next_try=policy.next_try(order.attempts, order.next_attempt_at, now),
        )
    return entry


def announce(summary: dict) -> dict:
    """The extra of this run's ``amazon_orders_synced`` event: the summary without its order lists.

    Raises ``AirflowSkipException`` (no event, so no tracking push) unless the run
    imported or updated merchant-fulfilled orders: the only change the push acts on.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    if not summary["changed_for_push"]:
        raise AirflowSkipException(
            "no merchant-fulfilled order was imported or updated: no amazon_orders_synced event, no tracking push"
        )
    return {
        k: v for k, v in summary.items() if k not in ("rejected", "failures", "kept_out_this_run", "kept_out_earlier")
    }


def store_setup(client, settings: OrderSettings) -> StoreSetup:
    """The settings' store views as Commerce has them (ids, websites, base currencies), checked.

    Raises :class:`include.domain.commerce_stores.StoreSetupError` (a settings error: the task fails
    without retries) naming every missing store view and currency mismatch.
    """
    stores = commerce_stores(client.store_views(), client.websites(), client.store_configs())
    return resolve_stores(settings, stores)


def _lookup_stores(client, settings: OrderSettings) -> StoreSetup | CommerceUnavailable:
    """:func:`store_setup`, or the outage when Commerce does not answer (the orders then wait with that reason)."""
    try:
        return store_setup(client, settings)
    except CommerceUnavailable as exc:
        log.warning("store views not looked up, Commerce unavailable: %s", exc.template)
        return exc


def _in_store(
    stores: StoreSetup | CommerceUnavailable, order: channel_db.ChannelOrder, action: Callable[[StoreRef], ImportResult]
) -> ImportResult:
    """``action`` with the order's Commerce store view, or a failure naming what is wrong with the order.

    The staged payload is validated again (rows staged by an older release were not), so malformed
    data is kept out with its reason here instead of raising inside the mapping.
    """
    if is_purged(order.payload):
        reason = (
            "buyer data purged after pii_retention_days (Amazon's data protection rules); "
            "Amazon must send a newer version of the order to import it"
        )
        return ImportResult(order.amazon_order_id, "failed", reason=reason)
    try:
        validate_order(order.payload)
    except InvalidOrder as exc:
        return ImportResult(order.amazon_order_id, "failed", reason=f"malformed order: {exc.reason}")
    if isinstance(stores, CommerceUnavailable):
        return ImportResult(order.amazon_order_id, "failed", reason=_commerce_reason(stores, order.payload))
    store = stores.order_store(order.marketplace_id)
    if store is None:
        reason = f"marketplace {label(order.marketplace_id)} has no Commerce store view in amazon_order_settings (store_by_marketplace)"
        return ImportResult(order.amazon_order_id, "failed", reason=reason)
    return action(store)


def _map_in_stores(
    client,
    stores: StoreSetup | CommerceUnavailable,
    orders: list[channel_db.ChannelOrder],
    settings: OrderSettings,
    action: Callable[[channel_db.ChannelOrder, StoreRef], ImportResult],
) -> list[ImportResult | BaseException]:
    """``action(order, store)`` for every order, ``commerce_concurrency`` at a time, each in its store view
    (:func:`_in_store`); an order's exception is returned in its place (:func:`_as_result` records it)."""
    return client.map_concurrent(
        lambda order: _in_store(stores, order, lambda store: action(order, store)),
        orders,
        settings.commerce_concurrency,
    )


def _as_result(order: channel_db.ChannelOrder, result: ImportResult | BaseException) -> ImportResult:
    """An order's outcome; an exception (not a data problem: those are results) is recorded as a failure."""
    if isinstance(result, BaseException):
        log.error("unexpected error on order %s", order.amazon_order_id, exc_info=result)
        reason = f"unexpected error: {type(result).__name__} (a bug or an outage: see the task log)"
        return ImportResult(order.amazon_order_id, "failed", reason=reason)
    return result


class UnexpectedOrderErrors(RuntimeError):
    """Orders raised errors that are not data problems; the others' outcomes are recorded, then the task fails."""


def _fail_loudly_on_unexpected(orders: list[channel_db.ChannelOrder], raw: list[ImportResult | BaseException]) -> None:
    """Raise once every outcome is recorded if any order raised: bugs and outages must not pass as kept-out orders."""
    unexpected = [(o.amazon_order_id, r) for o, r in zip(orders, raw, strict=True) if isinstance(r, BaseException)]
    if unexpected:
        first_id, first = unexpected[0]
        raise UnexpectedOrderErrors(
            f"{len(unexpected)} order(s) raised unexpected errors, first {first_id}: {type(first).__name__}; "
            "the other orders' outcomes are recorded"
        ) from first


def _with_claimed_elsewhere(tally: dict, count: int) -> dict:
    """A task result with the orders of its chunk that another task held (left to it; the next run sees them)."""
    if count:
        log.info("%s order(s) of this chunk are claimed by another task: left to it", count)
        tally["outcomes"]["claimed_elsewhere"] = count
    return tally


def _tally(results: list[ImportResult]) -> dict:
    outcomes = Counter(result.outcome for result in results)
    outcomes["customers_created"] = sum(result.customer_created for result in results)
    if any(result.held for result in results):
        outcomes["held_at_import"] = sum(result.held for result in results)
    failures = [{"amazon_order_id": r.amazon_order_id, "reason": r.reason} for r in results if not r.ok]
    for failure in failures[:MAX_LISTED_FAILURES]:
        log.warning("order %s kept out: %s", failure["amazon_order_id"], failure["reason"])
    return {"orders": len(results), "outcomes": dict(outcomes), "failures": failures[:MAX_LISTED_FAILURES]}
