"""
### Amazon order changes, as they happen (event path)

Amazon sends an **ORDER_CHANGE** notification to the account's SQS queue for every
new order, status change and buyer request. The Amazon provider's SQS trigger
watches the queue in the triggerer (asset `amazon_order_changes`) and starts a run
within seconds; the run:

1. **receive_notifications** — takes the waiting notifications from the queue
   (up to 100 orders a run), checks each against Amazon's ORDER_CHANGE format
   (a malformed or foreign message is dropped and listed with its reason), and
   folds repeated notifications of one order into one;
2. **extract_orders** — fetches each changed order with `getOrder`, paced at its
   usage plan, in the account's SP-API pool (shared with `amazon_order_sync`);
3. **stage_orders** — the polling sync's staging: a newer `lastUpdatedTime`
   wins, an older one changes nothing;
4. **delete_messages** — only now are the messages deleted from the queue: a
   run that fails earlier leaves them to reappear and be handled again;
5. **import_into_commerce** — the polling sync's imports and updates, limited to
   these orders (one Commerce order per Amazon order, whichever path comes first);
6. **summarize**, **announce_changes** — counts as the sync reports them, plus what
   the queue brought; starts the tracking push when merchant-fulfilled orders changed.

A run with only duplicates of work already done, or only dropped messages, shows
its later tasks as *skipped*. `amazon_order_sync` keeps polling every 15 minutes
as the backstop: when the queue or the triggerer is down, it catches up.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

from include.adapters.accounts import Account, account_doc, load_accounts
from include.adapters.alerts import OpsNotifier
from include.adapters.assets import order_changes, orders_synced
from include.adapters.dag_defaults import task_defaults
from include.tasks import order_events, order_sync


def order_events_dag(account: Account) -> None:
    """The event DAG of one seller account with an ORDER_CHANGE queue (``order_change_queue`` in accounts.yaml)."""
    synced = orders_synced(account)

    @dag(
        dag_id=account.events_dag_id,
        description=(
            f"Amazon ORDER_CHANGE notifications (SQS) → getOrder → channel DB → Commerce within a minute "
            f"(account {account.name}; {account.sync_dag_id} polls as the backstop)."
        ),
        schedule=[order_changes(account)],
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=timedelta(minutes=30),
        on_failure_callback=OpsNotifier(),
        tags=["amazon", "commerce", "orders", "events", f"account:{account.name}"],
        doc_md=__doc__ + account_doc(account),
        default_args=task_defaults(execution_timeout=timedelta(minutes=15)),
    )
    def amazon_order_events():
        @task
        def receive_notifications() -> dict:
            """Waiting ORDER_CHANGE notifications: checked, malformed/foreign ones dropped, folded per order."""
            return order_events.receive(account=account)

        @task(pool=account.pool)
        def extract_orders(received: dict, run_id=None) -> dict:
            """getOrder for each changed order → raw NDJSON in the landing store (the account's SP-API pool)."""
            return order_sync.extract(received["plan"], run_id, account=account)

        @task
        def stage_orders(received: dict, landed: dict) -> dict:
            """Upsert into the channel tables (newer lastUpdatedTime wins; an older version changes nothing)."""
            return order_sync.stage(received["plan"], landed, account=account)

        @task
        def delete_messages(received: dict, staged: dict) -> dict:
            """Delete this run's messages from the queue, now that their orders are staged."""
            return order_events.delete_staged(received, staged, account=account)

        @task(pool="commerce_api")
        def import_into_commerce(received: dict) -> dict:
            """Customers and Commerce orders for the changed orders, and Amazon's changes to imported ones."""
            return order_events.import_changed(received["plan"], account=account)

        @task
        def summarize(received: dict, staged: dict, results: dict, deleted: dict) -> dict:
            """Counts per outcome for these orders, and what the queue brought (duplicates folded, drops)."""
            return order_events.summarize(received, staged, results, deleted, account=account)

        @task(outlets=[synced])
        def announce_changes(summary: dict, outlet_events=None) -> None:
            """Start the tracking push (asset `amazon_orders_synced`) when merchant-fulfilled orders changed."""
            outlet_events[synced].extra = order_sync.announce(summary)

        received = receive_notifications()
        staged = stage_orders(received, extract_orders(received))
        deleted = delete_messages(received, staged)
        results = import_into_commerce(received)
        deleted >> results
        announce_changes(summarize(received, staged, results, deleted))

    amazon_order_events()


for _account in load_accounts():
    if _account.order_change_queue:
        order_events_dag(_account)
