"""
### Amazon → Adobe Commerce order sync

Every 15 minutes this DAG pulls the Amazon orders that changed in its window
(SP-API Orders `searchOrders`), stages them in the channel database, and turns
the importable ones into Commerce customers and orders, following Adobe's
Amazon fulfilment workflows:

* **merchant_fulfilled** — `PENDING` orders stay staged only; once Amazon marks
  them `UNSHIPPED` (or they are first seen shipped) they get a customer (or go
  guest) and an invoiced Commerce order. Later Amazon changes — cancellation,
  buyer details — are carried into Commerce.
* **fulfilled_by_amazon** — imported only once Amazon reports them `SHIPPED`,
  and only when FBA import is enabled; created `complete`.

Nothing here ever e-mails the buyer from Commerce: Amazon does that.

**Window**: the data interval, reaching back by the configured overlap and to the
last high-water mark (so a run after an outage covers the gap), clamped to
now − 2 min. **Single runs** (Trigger → Single Run): set `window_start`/`window_end`,
or list `amazon_order_ids` to re-sync just those orders; `dry_run` extracts and
stages without writing to Commerce. **Backfills** (Trigger → Backfill) make one run
per 15-minute interval lying within the range (a range ending 21:00 ends with the
run 20:45–21:00); their runs ignore the window and order-id params and honour
`dry_run`. Orders that cannot be imported keep a readable reason in the channel
tables and are retried with growing delays, then wait for an operator
(`python -m include.ops.report quarantine`; a re-sync by id always tries them).

**Tracking push**: `announce_changes` updates the asset `amazon_orders_synced`,
which starts `amazon_tracking_push`, only when the run imported or updated
merchant-fulfilled orders; otherwise it shows as *skipped* and no push starts.

**Run report**: every finished run gets a note (open it from the run's header)
with its counts, the orders kept out from this run's orders with their reasons,
and how many are still kept out overall, linked to the complete lists (the
`summarize` task's XCom). **Alerts**: a failed task, a timed-out run or a run past
its deadline (`ACS_SYNC_DEADLINE_MINUTES`) is logged to
`$AIRFLOW_HOME/logs/alerts.jsonl` and e-mailed when the `alerts_smtp` connection exists.

Settings: Variable `amazon_order_settings`. Connections: `amazon_sp_api`,
`commerce_api`, `channel_db`. Pool: `amazon_sp_api`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.sql.operators.sql import SQLCheckOperator
from airflow.sdk import TriggerRule, dag, task, task_group

from include.adapters.accounts import Account, account_doc, load_accounts
from include.adapters.alerts import OpsNotifier, run_deadline
from include.adapters.assets import orders_synced
from include.adapters.dag_defaults import amazon_order_ids_param, dry_run_param, task_defaults, timestamp_param
from include.adapters.paths import INCLUDE_DIR
from include.adapters.timetables import IntervalsWithinRange
from include.tasks import order_sync

#: The tasks whose results summarize counts, per fulfilment channel.
RESULT_TASKS = {
    "MERCHANT": ["merchant_fulfilled.import_orders", "merchant_fulfilled.apply_amazon_changes"],
    "AMAZON": ["fulfilled_by_amazon.import_orders"],
}


def order_sync_dag(account: Account) -> None:
    """The order-sync DAG of one seller account (its connection, settings Variable, pool, marks and asset)."""
    synced = orders_synced(account)

    @dag(
        dag_id=account.sync_dag_id,
        description=(
            "Amazon orders into Adobe Commerce every 15 minutes (SP-API → channel DB → Commerce customers and orders); "
            f"starts {account.push_dag_id} when merchant-fulfilled orders were imported or updated (account {account.name})."
        ),
        # Data intervals of 15 minutes; a backfill's runs lie within its range (include/adapters/timetables.py).
        schedule=IntervalsWithinRange("*/15 * * * *", timezone="UTC"),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=timedelta(hours=2),
        # Alerts (include/adapters/alerts.py): a failed task, a run failing otherwise (timeout), and a run not finished
        # ACS_SYNC_DEADLINE_MINUTES after it was queued (Deadline Alert). Logged and written to
        # $AIRFLOW_HOME/logs/alerts.jsonl; e-mailed too when the `alerts_smtp` connection exists.
        on_failure_callback=OpsNotifier(),
        deadline=run_deadline(),
        tags=["amazon", "commerce", "orders", f"account:{account.name}"],
        doc_md=__doc__ + account_doc(account),
        template_searchpath=[str(INCLUDE_DIR)],
        default_args=task_defaults(execution_timeout=timedelta(minutes=45)),
        params={
            "window_start": timestamp_param(
                "Window start (UTC)",
                "Extract orders last updated at or after this time, e.g. 2026-11-25T00:00:00Z. "
                "Empty: the schedule's window.",
            ),
            "window_end": timestamp_param(
                "Window end (UTC)",
                "Up to this time (clamped to now − 2 minutes). Empty: up to now.",
            ),
            "amazon_order_ids": amazon_order_ids_param(
                "Re-sync just these orders, fetched with getOrder; overrides the window.",
            ),
            "dry_run": dry_run_param(
                "Extract and stage only: write nothing to Commerce.",
            ),
        },
    )
    def amazon_order_sync():
        @task
        def plan_window(params=None, data_interval_start=None, data_interval_end=None, dag_run=None) -> dict:
            """Work out which Amazon orders this run looks at (a backfill run: its own interval, whatever the params)."""
            return order_sync.plan_run(
                params, data_interval_start, data_interval_end, dag_run.run_type, account=account
            )

        @task(pool=account.pool)
        def extract_orders(plan: dict, run_id=None) -> dict:
            """SP-API searchOrders (or getOrder per id) → raw NDJSON pages in the landing store."""
            return order_sync.extract(plan, run_id, account=account)

        @task
        def stage_orders(plan: dict, landed: dict) -> dict:
            """Upsert the landed orders and items into the channel tables (newer lastUpdatedTime wins)."""
            return order_sync.stage(plan, landed, account=account)

        @task.branch
        def choose_fulfilment_paths(plan: dict) -> list[str]:
            """Run only the groups that have work; the others show as skipped."""
            group_of = {"MERCHANT": "merchant_fulfilled", "AMAZON": "fulfilled_by_amazon"}
            return [
                f"{group_of[channel]}.plan_chunks" for channel in order_sync.channels_with_work(plan, account=account)
            ]

        @task_group
        def merchant_fulfilled(plan: dict):
            """Orders the seller ships (`fulfilledBy=MERCHANT`): import once `UNSHIPPED`, then follow Amazon's changes."""

            @task
            def plan_chunks(plan: dict) -> list[list[str]]:
                """Importable MFN orders (new, changed, or retrying) split into chunks."""
                return order_sync.import_chunks("MERCHANT", plan, account=account)

            # Pool commerce_api: its slots x commerce_concurrency bound the Commerce calls in flight across runs and
            # DAGs; each chunk claims its orders first (leases), so overlapping runs never import the same order.
            @task(pool="commerce_api")
            def import_orders(chunk: list[str]) -> dict:
                """Customers and invoiced Commerce orders for one chunk, concurrently within the configured bound."""
                return order_sync.import_chunk("MERCHANT", chunk, account=account)

            @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS, pool="commerce_api")
            def apply_amazon_changes(ti=None) -> dict:
                """Cancellations and buyer-detail changes of already imported orders."""
                return order_sync.apply_changes(ti.xcom_pull(task_ids="plan_window"), account=account)

            chunks = plan_chunks(plan)
            imported = import_orders.expand(chunk=chunks)
            [chunks, imported] >> apply_amazon_changes()

        @task_group
        def fulfilled_by_amazon(plan: dict):
            """Orders Amazon ships (`fulfilledBy=AMAZON`): imported only once `SHIPPED`, created complete."""

            @task
            def plan_chunks(plan: dict) -> list[list[str]]:
                """Shipped FBA orders not imported yet, split into chunks."""
                return order_sync.import_chunks("AMAZON", plan, account=account)

            @task(pool="commerce_api")
            def import_orders(chunk: list[str]) -> dict:
                """Complete Commerce orders (offline invoice and shipment) for one chunk."""
                return order_sync.import_chunk("AMAZON", chunk, account=account)

            import_orders.expand(chunk=plan_chunks(plan))

        @task_group
        def data_quality():
            """Checks on the channel tables after the loads (common-sql check operators); skipped when nothing was loaded."""
            SQLCheckOperator(
                task_id="one_commerce_order_per_amazon_order",
                conn_id="channel_db",
                sql="sql/dq_no_duplicate_commerce_orders.sql",
                trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
            ) >> SQLCheckOperator(
                task_id="importable_orders_accounted_for",
                conn_id="channel_db",
                sql="sql/dq_importable_orders_accounted.sql",
                trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
            )

        @task(trigger_rule=TriggerRule.NONE_FAILED)
        def summarize(plan: dict, staged: dict, ti=None) -> dict:
            """Counts per outcome for this run; the orders kept out, this run's and earlier runs' (the run note's lists)."""
            results = {
                channel: [r for r in ti.xcom_pull(task_ids=task_ids) or [] if isinstance(r, dict)]
                for channel, task_ids in RESULT_TASKS.items()
            }
            return order_sync.summarize(plan, staged, results, account=account)

        @task(outlets=[synced])
        def announce_changes(summary: dict, outlet_events=None) -> None:
            """Start the tracking push (asset `amazon_orders_synced`) only when merchant-fulfilled orders were
            imported or updated; skipped otherwise, and then no push starts."""
            outlet_events[synced].extra = order_sync.announce(summary)

        plan = plan_window()
        staged = stage_orders(plan, extract_orders(plan))
        paths = choose_fulfilment_paths(plan)
        staged >> paths
        mfn, fba = merchant_fulfilled(plan), fulfilled_by_amazon(plan)
        paths >> [mfn, fba]
        checks = data_quality()
        [mfn, fba] >> checks
        summary = summarize(plan, staged)
        checks >> summary
        announce_changes(summary)

    amazon_order_sync()


for _account in load_accounts():
    order_sync_dag(_account)
