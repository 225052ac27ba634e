"""What each amazon_tracking_push task does (the DAG file only wires these together).

1. :func:`plan_run` — the Commerce shipments to read: an ``updated_at`` window
   from the job's own high-water mark (minus the overlap), or chosen Amazon orders.
2. :func:`find_packages` — page through ``GET /V1/shipments``, keep those of
   imported merchant-fulfilled Amazon orders, turn every tracking number into an
   Amazon package (:mod:`include.domain.tracking`) and record it in
   ``channel_shipment_push``: new packages as *pending*, changed ones (an edited
   tracking number) as *pending* again, unchanged ones left alone. ``updated_at``
   rather than ``created_at``: a tracking number added to an existing shipment
   (``POST /V1/shipment/track``) touches the shipment's ``updated_at`` only.
3. :func:`confirm_packages` — ``confirmShipment`` for every pending or failed
   package, paced by the client; each outcome recorded at once: *confirmed*,
   *failed* (5xx, 429, timeout: retried next run) or *refused* (a permanent 4xx
   such as a cancelled order: kept with Amazon's reason, not retried). A package
   of a Commerce order on hold (a buyer asked Amazon to cancel it) is not sent:
   it is recorded *held* with the reason and sent on the first run after the
   hold is released. Then the
   confirmed quantities per item and the channel status (PartiallyShipped /
   Shipped) are recomputed.
4. :func:`complete_orders` — orders whose every item is confirmed: the Commerce
   order is made complete (offline invoice if something is not invoiced) and gets
   one status-history comment, never a customer notification.
5. :func:`summarize` — the run's counts and reasons.

Every function returns a small JSON-able dict for XCom.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby

from include import channel_db
from include.adapters.accounts import DEFAULT_ACCOUNT, Account
from include.adapters.dag_defaults import order_ids, run_params
from include.adapters.hooks.channel_db import channel_engine
from include.adapters.leases import task_lease
from include.adapters.task_failures import PermanentError, fail_fast_on_permanent_errors
from include.clients.commerce.errors import CommerceClientError
from include.domain.run_plans import PushPlan
from include.domain.settings import OrderSettings, load_settings
from include.domain.staging import batched
from include.domain.tracking import (
    COMMENT_PREFIX,
    HELD_STATE,
    Package,
    completion_comment,
    held_reason,
    is_permanent_refusal,
    iso_z,
    map_commerce_items,
    packages_for_shipment,
    shipment_window,
)

log = logging.getLogger(__name__)

JOB = "amazon_tracking_push"
#: Shipments handled per batch (one channel look-up and one write per batch): memory stays flat.
SHIPMENT_BATCH = 200
#: Commerce order ids per ``order_id in (...)`` shipment search.
ORDER_ID_CHUNK = 100
#: Failures and packages listed per task result and in the run summary (the channel tables have them all).
MAX_LISTED = 25
#: Commerce states in which an order can no longer be completed.
CLOSED_STATES = ("canceled", "closed")


# ----------------------------------------------------------------------------------------------------------- plan


@fail_fast_on_permanent_errors
def plan_run(
    params: dict | None,
    data_interval_start: datetime | None,
    run_type: str | None = None,
    *,
    account: Account = DEFAULT_ACCOUNT,
) -> dict:
    """The run's plan: a shipment ``updated_at`` window and/or a list of Amazon order ids.

    A backfill run ignores the single-run params (:func:`include.adapters.dag_defaults.run_params`);
    the plan lists what it ignored.
    """
    params, ignored = run_params(params, run_type)
    settings = load_settings(account.settings_variable)
    engine = channel_engine()
    channel_db.require_current(engine)
    ids = order_ids(params)
    since, until = params.get("shipments_since") or None, params.get("shipments_until") or None
    common = {"dry_run": bool(params.get("dry_run")), "amazon_order_ids": ids, "ignored_params": ignored}
    if ids and not (since or until):
        resend = bool(params.get("resend_refused"))
        log.info("manual run for %s Amazon orders (all their shipments%s)", len(ids), ", refused ones too" * resend)
        return PushPlan(mode="orders", resend_refused=resend, **common).to_xcom()
    mark = channel_db.high_water_mark(engine, JOB, account.name)
    explicit = bool(since or until)
    window = shipment_window(
        now=datetime.now(UTC),
        overlap=timedelta(minutes=settings.overlap_minutes),
        high_water_mark=mark,
        data_interval_start=None if explicit else data_interval_start,
        oldest_order=channel_db.oldest_imported_mfn_order(engine, account=account.name),
        since=since,
        until=until,
    )
    # The mark only moves when this window reaches back to it: a manual window further on must not skip a gap.
    move_mark = not common["dry_run"] and not ids and (mark is None or window.start <= mark)
    log.info("shipments updated %s → %s%s", iso_z(window.start), iso_z(window.end), " (empty)" if window.empty else "")
    return PushPlan(mode="window", start=window.start, end=window.end, move_mark=move_mark, **common).to_xcom()


# ----------------------------------------------------------------------------------------------------------- find


@fail_fast_on_permanent_errors
def find_packages(plan: PushPlan | dict, *, account: Account = DEFAULT_ACCOUNT) -> dict:
    """Read the plan's Commerce shipments and record one package per tracking number (nothing written on a dry run)."""
    plan = PushPlan.from_xcom(plan)
    from include.adapters.hooks.commerce_api import CommerceHook
    from include.clients.commerce.search_criteria import SearchCriteria

    settings = load_settings(account.settings_variable)
    engine = channel_engine()
    dry_run = plan.dry_run
    shipments: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    listed: list[dict] = []
    with CommerceHook().get_client() as client:
        criteria: list[SearchCriteria] = []
        base = SearchCriteria()
        if plan.start:
            base.between("updated_at", plan.start, plan.end)
        if plan.amazon_order_ids:
            orders = channel_db.tracking_orders_by_amazon_id(engine, plan.amazon_order_ids, account=account.name)
            commerce_ids = sorted(o.commerce_order_id for o in orders)
            criteria = [base.copy().where("order_id", chunk, "in") for chunk in batched(commerce_ids, ORDER_ID_CHUNK)]
        elif plan.start < plan.end:
            criteria = [base]

        def all_shipments() -> Iterator[dict]:
            for search in criteria:
                yield from client.iter_shipments(search, page_size=100)

        for batch in batched(all_shipments(), SHIPMENT_BATCH):
            _handle_batch(
                client, engine, settings.commerce_concurrency, batch, dry_run, shipments, packages, listed, account.name
            )
    if plan.move_mark:
        channel_db.set_high_water_mark(engine, JOB, plan.end, account=account.name)
    result = {"shipments": _counts(shipments, SHIPMENT_KEYS), "packages": _counts(packages, PACKAGE_KEYS)}
    result["listed"] = listed[:MAX_LISTED]
    log.info("shipments %s; packages %s", result["shipments"], result["packages"])
    return result


#: What a run summary shows of each package found.
LISTED_FIELDS = ("amazon_order_id", "package_reference_id", "carrier_code", "tracking_number", "status", "last_error",
                 "items")  # fmt: skip
SHIPMENT_KEYS = ("read", "amazon_merchant_fulfilled", "fulfilled_by_amazon", "not_amazon", "without_tracking")
PACKAGE_KEYS = ("new", "edited", "changed", "unchanged", "skipped")


def _counts(counter: Counter[str], keys: tuple[str, ...]) -> dict[str, int]:
    return {key: int(counter[key]) for key in keys}


def _handle_batch(
    client,
    engine,
    concurrency: int,
    batch: list[dict],
    dry_run: bool,
    shipments: Counter[str],
    packages: Counter[str],
    listed: list[dict],
    account: str,
) -> None:
    """Packages for one batch of shipments (of ``account``'s orders; other shipments are not ours): channel look-up, item links, compare with what is recorded, save."""
    shipments["read"] += len(batch)
    orders = channel_db.tracking_orders_by_commerce_id(engine, [int(s["order_id"]) for s in batch], account=account)
    ours = []
    for shipment in batch:
        order = orders.get(int(shipment["order_id"]))
        if order is None:
            shipments["not_amazon"] += 1
        elif order.fulfilled_by != "MERCHANT":
            shipments["fulfilled_by_amazon"] += 1  # Amazon shipped it: never confirmed by us
        else:
            shipments["amazon_merchant_fulfilled"] += 1
            ours.append((shipment, order))
    if not ours:
        return
    amazon_ids = sorted({order.amazon_order_id for _, order in ours})
    items = channel_db.tracking_items(engine, amazon_ids)
    links = _item_links(client, engine, concurrency, {o.amazon_order_id: o for _, o in ours}, items, dry_run)
    built: list[Package] = []
    for shipment, order in ours:
        found = packages_for_shipment(
            shipment,
            amazon_order_id=order.amazon_order_id,
            marketplace_id=order.marketplace_id,
            amazon_item_for=links.get(order.amazon_order_id, {}),
        )
        if not found:
            shipments["without_tracking"] += 1
        built.extend(found)
    recorded = {(p.amazon_order_id, p.package_reference_id): p for p in channel_db.shipment_pushes(engine, amazon_ids)}
    new, changed = [], []
    for package in built:
        previous = recorded.get((package.amazon_order_id, package.package_reference_id))
        if previous is None:
            new.append(package)
            packages["skipped" if package.skip_reason else "new"] += 1
        elif previous.content() == package.content():
            packages["unchanged"] += 1
            continue
        elif package.skip_reason and previous.status == "confirmed":
            packages["unchanged"] += 1  # never take back a confirmed package because it cannot be rebuilt now
            continue
        else:
            changed.append(package)
            packages["edited" if previous.status == "confirmed" else "changed"] += 1
        if len(listed) < MAX_LISTED:
            shown = package.to_dict()
            listed.append({k: shown[k] for k in LISTED_FIELDS})
    if not dry_run:
        channel_db.save_shipment_pushes(engine, new, changed, account=account)


def _item_links(
    client, engine, concurrency: int, orders: dict[str, channel_db.TrackingOrder], items: dict, dry_run: bool
) -> dict[str, dict[int, str]]:
    """Commerce order item id → Amazon orderItemId per order; unknown links are read from the Commerce order once."""
    missing = [
        orders[amazon_id]
        for amazon_id, rows in items.items()
        if amazon_id in orders and any(row.commerce_order_item_id is None for row in rows)
    ]
    learned: list[tuple[str, str, int]] = []
    if missing:
        fetched = client.map_concurrent(lambda o: client.get_order(o.commerce_order_id), missing, concurrency)
        for order, commerce_order in zip(missing, fetched, strict=True):
            if isinstance(commerce_order, CommerceClientError):
                # This order cannot be read for good (e.g. deleted in Commerce): only its packages are skipped.
                log.warning("Commerce order %s of %s unreadable: %s", order.commerce_order_id, order.amazon_order_id,
                            commerce_order)  # fmt: skip
                continue
            if isinstance(commerce_order, BaseException):
                raise commerce_order  # Commerce unavailable or a bug: the task fails and is retried
            skus = {row.order_item_id: row.sku for row in items[order.amazon_order_id]}
            for amazon_item, commerce_item in map_commerce_items(commerce_order.get("items") or [], skus).items():
                learned.append((order.amazon_order_id, amazon_item, commerce_item))
        if not dry_run:
            channel_db.set_commerce_item_ids(engine, learned)
    links: dict[str, dict[int, str]] = {}
    for amazon_id, rows in items.items():
        for row in rows:
            if row.commerce_order_item_id is not None:
                links.setdefault(amazon_id, {})[row.commerce_order_item_id] = row.order_item_id
    for amazon_id, amazon_item, commerce_item in learned:
        links.setdefault(amazon_id, {})[commerce_item] = amazon_item
    return links


# ----------------------------------------------------------------------------------------------------------- branch

#: The steps after finding packages (the DAG maps them to its tasks).
CONFIRM, COMPLETE = "confirm", "complete"


@fail_fast_on_permanent_errors
def steps_with_work(plan: PushPlan | dict, *, account: Account = DEFAULT_ACCOUNT) -> list[str]:
    """The steps to run after finding packages: :data:`CONFIRM` when packages wait, :data:`COMPLETE` when orders could close."""
    plan = PushPlan.from_xcom(plan)
    if plan.dry_run:
        log.info("dry run: nothing is sent to Amazon or written to Commerce")
        return []
    engine = channel_engine()
    only_ids = plan.only_ids
    if channel_db.pushes_to_send(
        engine, only_ids=only_ids, limit=1, resend_refused=plan.resend_refused, account=account.name
    ):
        return [CONFIRM, COMPLETE]
    if channel_db.orders_to_complete(engine, only_ids=only_ids, limit=1, account=account.name):
        return [COMPLETE]
    return []


# ----------------------------------------------------------------------------------------------------------- confirm


class AmazonCredentialsError(PermanentError):
    """Amazon rejected our credentials (401/403): every package would fail, so the task stops."""


@fail_fast_on_permanent_errors
def confirm_packages(plan: PushPlan | dict, *, account: Account = DEFAULT_ACCOUNT) -> dict:
    """``confirmShipment`` for every pending or failed package, each outcome recorded as it happens.

    The packages are claimed first: two overlapping runs never send the same package (orders another
    task holds are left to it, counted as ``claimed_elsewhere``).
    """
    plan = PushPlan.from_xcom(plan)
    engine = channel_engine()
    pushes = channel_db.pushes_to_send(
        engine, only_ids=plan.only_ids, resend_refused=plan.resend_refused, account=account.name
    )
    if not pushes:
        return _confirm(engine, account, [], 0)
    lease = task_lease(load_settings(account.settings_variable).lease_seconds)
    with channel_db.holding_leases(engine, lease):
        pushes, elsewhere = _claimed_pushes(engine, plan, pushes, lease, account.name)
        return _confirm(engine, account, pushes, elsewhere)


def _claimed_pushes(
    engine, plan: PushPlan, pushes: list[Package], lease: channel_db.Lease, account: str
) -> tuple[list[Package], int]:
    """Claim the packages to send (:mod:`include.channel_db.leases`); returns those of the orders whose every
    waiting package this task now holds, read again after the claim, and how many orders another task holds.

    An order's packages go out in order, by one task: an order this task holds only in part is left whole.
    """
    wanted = sorted({push.amazon_order_id for push in pushes})
    held = channel_db.claim_pushes(engine, wanted, lease)
    fresh = channel_db.pushes_to_send(
        engine, only_ids=sorted({amazon_id for amazon_id, _ in held}), resend_refused=plan.resend_refused,
        account=account,
    )  # fmt: skip
    whole = {
        amazon_id
        for amazon_id, group in groupby(fresh, key=lambda p: p.amazon_order_id)
        if all((p.amazon_order_id, p.package_reference_id) in held for p in group)
    }
    elsewhere = len(set(wanted) - {amazon_id for amazon_id, _ in held}) + len(
        {p.amazon_order_id for p in fresh} - whole
    )
    if elsewhere:
        log.info("%s order(s) with packages to send are claimed by another task: left to it", elsewhere)
    return [p for p in fresh if p.amazon_order_id in whole], elsewhere


def _confirm(engine, account: Account, pushes: list[Package], claimed_elsewhere: int) -> dict:
    """``confirmShipment`` for these packages (grouped by order, in order), each outcome recorded as it happens."""
    import httpx

    from include.adapters.hooks.amazon_sp_api import SpApiHook
    from include.clients.amazon.client import ClientStats
    from include.clients.amazon.errors import SpApiError

    outcomes: Counter[str] = Counter()
    problems: list[dict] = []
    touched: set[str] = set()
    traffic = ClientStats()
    held = _held_orders(sorted({p.commerce_order_id for p in pushes if p.commerce_order_id is not None}))
    if pushes:
        with SpApiHook(account.conn_id).get_client() as client:
            traffic = client.stats
            for amazon_id, group in groupby(pushes, key=lambda p: p.amazon_order_id):
                waiting = list(group)
                if waiting[0].commerce_order_id in held:
                    reason = held_reason(held[waiting[0].commerce_order_id])
                    for push in waiting:
                        channel_db.record_push_held(engine, amazon_id, push.package_reference_id, reason)
                        problems.append({**_problem(push, "held", reason), "attempts": push.attempts})
                    outcomes["held"] += len(waiting)
                    log.warning("%s package(s) of %s held: the Commerce order is on hold", len(waiting), amazon_id)
                    continue
                while waiting:
                    push = waiting.pop(0)
                    detail = push.package_detail()
                    try:
                        client.confirm_shipment(amazon_id, marketplace_id=push.marketplace_id, package_detail=detail)
                    except SpApiError as exc:
                        if exc.status in (401, 403):
                            channel_db.record_push_result(engine, amazon_id, push.package_reference_id, "failed",
                                                          error=str(exc))  # fmt: skip
                            raise AmazonCredentialsError(f"Amazon rejected the credentials: {exc}") from exc
                        status = "refused" if is_permanent_refusal(exc.status) else "failed"
                        reason = str(exc)
                    except httpx.TransportError as exc:
                        status, reason = "failed", f"confirmShipment: no answer from Amazon ({type(exc).__name__})"
                    else:
                        status, reason = "confirmed", None
                    channel_db.record_push_result(engine, amazon_id, push.package_reference_id, status, error=reason)
                    outcomes[status] += 1
                    touched.add(amazon_id)
                    if status != "confirmed":
                        problems.append(_problem(push, status, reason))
                        log.warning("package %s of %s %s: %s", push.package_reference_id, amazon_id, status, reason)
                    if status == "failed" and waiting:
                        # Later packages of this order wait: an edit that failed may be what makes them fit.
                        outcomes["waiting"] += len(waiting)
                        break
        channel_db.refresh_confirmed_quantities(engine, sorted(touched))
    shipped, partial = _order_progress(engine, sorted(touched))
    result = {
        "sent": sum(outcomes[k] for k in ("confirmed", "failed", "refused")),
        **{k: int(outcomes[k]) for k in ("confirmed", "failed", "refused", "waiting", "held")},
        "problems": problems[:MAX_LISTED],
        "orders_shipped": shipped[:MAX_LISTED],
        "orders_partially_shipped": partial[:MAX_LISTED],
        "orders_shipped_count": len(shipped),
        "orders_partially_shipped_count": len(partial),
        "sp_api": traffic.calls(),
        "claimed_elsewhere": claimed_elsewhere,
    }
    log.info(
        "confirmShipment: %s", {k: result[k] for k in ("sent", "confirmed", "failed", "refused", "waiting", "held")}
    )
    return result


def _held_orders(commerce_order_ids: list[int]) -> dict[int, str | None]:
    """Of these Commerce orders, those on hold now (id → increment id), read in one search per 100 orders."""
    if not commerce_order_ids:
        return {}
    from include.adapters.hooks.commerce_api import CommerceHook
    from include.clients.commerce.search_criteria import SearchCriteria

    held: dict[int, str | None] = {}
    with CommerceHook().get_client() as client:
        for chunk in batched(commerce_order_ids, ORDER_ID_CHUNK):
            criteria = SearchCriteria().where("entity_id", chunk, "in").where("state", HELD_STATE)
            for order in client.iter_orders(criteria, page_size=ORDER_ID_CHUNK):
                held[int(order["entity_id"])] = order.get("increment_id")
    return held


def _problem(push: Package, status: str, reason: str | None) -> dict:
    return {
        "amazon_order_id": push.amazon_order_id,
        "package_reference_id": push.package_reference_id,
        "tracking_number": push.tracking_number,
        "status": status,
        "reason": reason,
        "attempts": push.attempts + 1,
    }


def _order_progress(engine, amazon_ids: list[str]) -> tuple[list[str], list[str]]:
    """Of these orders: those now fully confirmed, and those partly confirmed."""
    shipped, partial = [], []
    for amazon_id, rows in sorted(channel_db.tracking_items(engine, amazon_ids).items()):
        if all(row.quantity_confirmed >= row.quantity_ordered for row in rows):
            shipped.append(amazon_id)
        elif any(row.quantity_confirmed > 0 for row in rows):
            partial.append(amazon_id)
    return shipped, partial


# ----------------------------------------------------------------------------------------------------------- complete


@dataclass(frozen=True)
class Completion:
    """What closing one fully confirmed order in Commerce did (``reason`` free of buyer data)."""

    amazon_order_id: str
    commerce_order_id: int
    status: str  # completed | failed | skipped
    reason: str | None = None
    invoiced: bool = False


@fail_fast_on_permanent_errors
def complete_orders(plan: PushPlan | dict, *, account: Account = DEFAULT_ACCOUNT) -> dict:
    """Make every fully confirmed order complete in Commerce, with one comment and no customer notification.

    The orders are claimed first (their channel orders' leases), so two overlapping runs never close the same one.
    """
    plan = PushPlan.from_xcom(plan)
    settings = load_settings(account.settings_variable)
    engine = channel_engine()
    orders = channel_db.orders_to_complete(engine, only_ids=plan.only_ids, account=account.name)
    if not orders:
        return _completed(engine, settings, [])
    with channel_db.holding_leases(engine, task_lease(settings.lease_seconds)) as lease:
        claimed = channel_db.claim_orders(engine, [o.amazon_order_id for o in orders], lease)
        # Read again after the claim: another task may have closed some meanwhile (and leaves the rest to us).
        orders = channel_db.orders_to_complete(engine, only_ids=claimed, account=account.name)
        return _completed(engine, settings, orders)


def _completed(engine, settings: OrderSettings, orders: list[channel_db.OrderToComplete]) -> dict:
    """Close these orders in Commerce (those this task holds) and record each outcome."""
    from include.adapters.hooks.commerce_api import CommerceHook

    results: list[Completion] = []
    if orders:
        confirmed: dict[str, list[tuple[str, str]]] = {}
        for push in channel_db.shipment_pushes(engine, [o.amazon_order_id for o in orders]):
            if push.status == "confirmed":
                carrier = push.carrier_name or push.carrier_code or "?"
                confirmed.setdefault(push.amazon_order_id, []).append((carrier, push.tracking_number or "?"))
        with CommerceHook().get_client() as client:
            raw = client.map_concurrent(
                lambda o: complete_order(client, o, confirmed.get(o.amazon_order_id, [])),
                orders,
                settings.commerce_concurrency,
            )
        for order, outcome in zip(orders, raw, strict=True):
            if isinstance(outcome, BaseException):
                log.error("closing Commerce order of %s failed: %s", order.amazon_order_id, type(outcome).__name__)
                reason = f"unexpected error: {type(outcome).__name__}: {outcome}"
                outcome = Completion(order.amazon_order_id, order.commerce_order_id, "failed", reason)
            results.append(outcome)
        with engine.begin() as conn:
            for outcome in results:
                channel_db.record_completion(
                    conn, outcome.amazon_order_id, outcome.commerce_order_id, outcome.status, error=outcome.reason
                )
    counts = Counter(r.status for r in results)
    problems = [
        {"amazon_order_id": r.amazon_order_id, "status": r.status, "reason": r.reason}
        for r in results
        if r.status != "completed"
    ]
    for problem in problems[:MAX_LISTED]:
        log.warning("Commerce order of %s %s: %s", problem["amazon_order_id"], problem["status"], problem["reason"])
    return {
        **{k: int(counts[k]) for k in ("completed", "failed", "skipped")},
        "invoiced": sum(r.invoiced for r in results),
        "orders_completed": [r.amazon_order_id for r in results if r.status == "completed"][:MAX_LISTED],
        "problems": problems[:MAX_LISTED],
    }


def complete_order(client, order: channel_db.OrderToComplete, packages: list[tuple[str, str]]) -> Completion:
    """Bring one Commerce order to ``complete`` (shipped and invoiced) and add the tracking comment once."""
    from include.clients.commerce.errors import CommerceError

    oid, amazon_id = order.commerce_order_id, order.amazon_order_id
    try:
        current = client.get_order(oid)
        state = current.get("state")
        if state in CLOSED_STATES:
            return Completion(amazon_id, oid, "skipped", f"the Commerce order is {state}: nothing to complete")
        lines = [i for i in current.get("items") or [] if not i.get("parent_item_id")]
        to_ship = sum(_qty(i, "qty_ordered") - _qty(i, "qty_shipped") - _qty(i, "qty_canceled") for i in lines)
        if to_ship > 0:
            return Completion(amazon_id, oid, "failed", f"the Commerce order still has {to_ship:g} unit(s) to ship")
        invoiced = False
        if sum(_qty(i, "qty_ordered") - _qty(i, "qty_invoiced") - _qty(i, "qty_canceled") for i in lines) > 0:
            client.invoice_order(oid, capture=False, notify=False)
            invoiced = True
            current = client.get_order(oid)
        if current.get("state") != "complete":
            return Completion(
                amazon_id, oid, "failed", f"the Commerce order is {current.get('state')} after shipping and invoicing"
            )
        history = client.get_order_comments(oid)["items"]
        if not any(str(h.get("comment") or "").startswith(COMMENT_PREFIX) for h in history):
            client.add_order_comment(oid, completion_comment(amazon_id, packages), notify=False)
    except CommerceError as exc:
        return Completion(amazon_id, oid, "failed", f"Commerce refused: {exc}")
    return Completion(amazon_id, oid, "completed", invoiced=invoiced)


def _qty(item: dict, key: str) -> float:
    return float(item.get(key) or 0)


# ----------------------------------------------------------------------------------------------------------- summary


@fail_fast_on_permanent_errors
def summarize(
    plan: PushPlan | dict,
    found: dict | None,
    confirmed: dict | None,
    completed: dict | None,
    *,
    account: Account = DEFAULT_ACCOUNT,
) -> dict:
    """The run in one readable dict: shipments read, packages found, confirmed, failed and refused with reasons."""
    plan = PushPlan.from_xcom(plan)
    engine = channel_engine()
    confirmed = confirmed or {}
    completed = completed or {}
    summary = {
        "window": plan.window,
        "amazon_order_ids": plan.amazon_order_ids,
        "dry_run": plan.dry_run,
        "ignored_params": plan.ignored_params,
        "shipments": (found or {}).get("shipments", {}),
        "packages_found": (found or {}).get("packages", {}),
        "packages": {
            k: int(confirmed.get(k, 0)) for k in ("sent", "confirmed", "failed", "refused", "waiting", "held")
        },
        "problems": confirmed.get("problems", []),
        "orders_shipped": confirmed.get("orders_shipped_count", 0),
        "orders_partially_shipped": confirmed.get("orders_partially_shipped_count", 0),
        "orders_completed": completed.get("completed", 0),
        "orders_completed_ids": completed.get("orders_completed", []),
        "completion_problems": completed.get("problems", []),
        "channel_totals": {
            "packages": channel_db.push_counts(engine, account=account.name),
            "orders_awaiting_completion": len(channel_db.orders_to_complete(engine, account=account.name)),
        },
        "account": account.name,
    }
    if plan.dry_run:
        summary["would_send"] = (found or {}).get("listed", [])
    log.info(
        "run summary: packages %s, orders shipped %s, partially shipped %s, completed %s",
        summary["packages"],
        summary["orders_shipped"],
        summary["orders_partially_shipped"],
        summary["orders_completed"],
    )
    return summary
