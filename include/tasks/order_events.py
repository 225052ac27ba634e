"""What each amazon_order_events task does: ORDER_CHANGE notifications → getOrder → the sync's staging and import.

The run receives the notifications from the account's SQS queue itself (the asset
watcher only wakes the DAG up), checks each one (:mod:`include.domain.order_notifications`),
drops the malformed and foreign ones with their reason, coalesces the rest per order
and hands the order ids to the polling sync's own task bodies
(:mod:`include.tasks.order_sync`): ``extract`` (getOrder, paced, in the account's
SP-API pool), ``stage`` (a newer ``lastUpdatedTime`` wins, an older one changes
nothing), the imports and the summary. Messages are deleted only once their orders
are staged; a run that crashes before leaves them to reappear after the visibility
timeout and be handled again (every step is idempotent).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from include import channel_db
from include.adapters.accounts import DEFAULT_ACCOUNT, Account
from include.adapters.hooks.channel_db import channel_engine
from include.adapters.order_queue import (
    MAX_MESSAGES_PER_RUN,
    MAX_ORDERS_PER_RUN,
    delete_messages,
    receive_batch,
    sqs_client,
)
from include.adapters.task_failures import fail_fast_on_permanent_errors
from include.domain.order_notifications import InvalidNotification, OrderChange, coalesce, parse_notification
from include.domain.run_plans import SyncPlan
from include.tasks import order_sync

log = logging.getLogger(__name__)

#: Dropped messages listed in a run's result (all are counted).
MAX_LISTED_DROPPED = 25


def _seller_id(account: Account) -> str | None:
    """The account's selling partner id (``seller_id`` in its SP-API connection's extra), if configured."""
    from include.adapters.hooks.amazon_sp_api import SpApiHook

    return SpApiHook(account.conn_id).extra.get("seller_id") or None


@fail_fast_on_permanent_errors
def receive(*, account: Account = DEFAULT_ACCOUNT) -> dict:
    """Receive the waiting notifications (up to :data:`MAX_ORDERS_PER_RUN` orders), check them, coalesce them.

    Returns the plan (the changed orders, as a re-sync by id), the receipt handles to delete once they are staged,
    and the counts; the malformed and foreign messages are deleted at once and listed with their reason (never
    their content). Raises ``AirflowSkipException`` when no order changed: the rest of the run is skipped.
    """
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowSkipException

    channel_db.require_current(channel_engine())  # as the sync's first task: a new database is created here
    queue_url = account.order_change_queue
    seller_id = _seller_id(account)
    client = sqs_client()
    changes: list[OrderChange] = []
    handles: list[str] = []
    dropped: list[dict] = []
    drop_handles: list[str] = []
    received = 0
    while received < MAX_MESSAGES_PER_RUN and len({c.amazon_order_id for c in changes}) < MAX_ORDERS_PER_RUN:
        batch = receive_batch(client, queue_url, wait_s=1 if received == 0 else 0)
        if not batch:
            break
        received += len(batch)
        for message in batch:
            try:
                changes.append(parse_notification(message.body, seller_id=seller_id))
                handles.append(message.receipt_handle)
            except InvalidNotification as exc:
                kind = "foreign" if exc.foreign else "malformed"
                dropped.append({"message_id": message.message_id, "reason": f"{kind} message: {exc.reason}"})
                drop_handles.append(message.receipt_handle)
                log.warning("dropped message %s: %s message: %s", message.message_id, kind, exc.reason)
    if drop_handles:
        delete_messages(client, queue_url, drop_handles)
    orders = coalesce(changes)
    result = {
        "account": account.name,
        "messages": received,
        "notifications": len(changes),
        "orders": len(orders),
        "dropped_count": len(dropped),
        "dropped": dropped[:MAX_LISTED_DROPPED],
    }
    log.info("received %s", result)
    if not orders:
        # Kept as this task's result although it skips: the run's note lists the dropped messages from it.
        get_current_context()["ti"].xcom_push(key="return_value", value=result)
        raise AirflowSkipException(
            f"no order changed ({received} messages, {len(dropped)} dropped): nothing to fetch or import"
        )
    plan = SyncPlan(mode="orders", amazon_order_ids=[o.amazon_order_id for o in orders], planned_at=datetime.now(UTC))
    return {**result, "plan": plan.to_xcom(), "receipt_handles": handles}


@fail_fast_on_permanent_errors
def delete_staged(received: dict, staged: dict, *, account: Account = DEFAULT_ACCOUNT) -> dict:
    """Delete the messages of this run from the queue: their orders are staged (or set aside with a reason)."""
    handles = received["receipt_handles"]
    deleted = delete_messages(sqs_client(), account.order_change_queue, handles)
    log.info("deleted %s of %s messages after staging %s orders", deleted, len(handles), staged["orders"])
    return {"deleted": deleted, "received": len(handles)}


@fail_fast_on_permanent_errors
def import_changed(plan: SyncPlan | dict, *, account: Account = DEFAULT_ACCOUNT) -> dict[str, list[dict]]:
    """The polling sync's imports, limited to the changed orders: per fulfilment channel with work, its chunks,
    then Amazon's changes to orders already in Commerce. Returns the results per channel (for ``summarize``)."""
    plan = SyncPlan.from_xcom(plan)
    results: dict[str, list[dict]] = {channel: [] for channel in order_sync.CHANNELS}
    for channel in order_sync.channels_with_work(plan, account=account):
        for chunk in order_sync.import_chunks(channel, plan, account=account):
            results[channel].append(order_sync.import_chunk(channel, chunk, account=account))
        if channel == "MERCHANT":
            results[channel].append(order_sync.apply_changes(plan, account=account))
    return results


def summarize(received: dict, staged: dict, results: dict, deleted: dict, *, account: Account) -> dict:
    """The sync's run summary of these orders, with what the queue brought: messages, duplicates, drops."""
    summary = order_sync.summarize(received["plan"], staged, results, account=account)
    summary["queue"] = {
        "messages": received["messages"],
        "notifications": received["notifications"],
        "orders": received["orders"],
        "duplicates_folded": received["notifications"] - received["orders"],
        "dropped_count": received["dropped_count"],
        "dropped": received["dropped"],
        "deleted": deleted["deleted"],
    }
    return summary
