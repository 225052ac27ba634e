"""
### Commerce tracking numbers → Amazon shipment confirmations

The last step of the merchant-fulfilled workflow: when the warehouse ships an
Amazon order in Commerce and enters a tracking number, Amazon must learn it,
and both sides must end in the right state.

Runs every 30 minutes, and after each `amazon_order_sync` run that imported or
updated merchant-fulfilled orders (its `amazon_orders_synced` asset), so
shipments entered while no sync changed anything still go out within 30 minutes.
(The DAG list shows only the asset as its schedule; the timer is in the description.)

* **commerce_shipments** — Commerce shipments updated since this job's own
  high-water mark (minus the overlap) that belong to imported
  *merchant-fulfilled* Amazon orders (FBA orders are never confirmed: Amazon
  shipped them). Each tracking number becomes one Amazon package with a stable
  numeric `packageReferenceId` (shipment id × 10¹⁰ + track id), Amazon's carrier
  code (fedex → FedEx, ups → UPS, usps → USPS, dhl → DHL…, anything else
  `Other` with the track title as carrier name) and the Amazon order items and
  quantities the shipment holds. Every package is recorded in
  `channel_shipment_push`.
* **amazon_confirmations** — `confirmShipment` for each pending or failed
  package, paced at its usage plan. A package is confirmed once; 5xx, 429 and
  timeouts leave it *failed* and it is retried next run; a permanent refusal
  (e.g. the order was cancelled on Amazon) is kept as *refused* with Amazon's
  reason. Channel orders become `PartiallyShipped`, then `Shipped`.
* **commerce_orders** — once every item is confirmed, the Commerce order is
  complete (shipped and invoiced) and gets a status-history comment that
  tracking went to Amazon. Commerce never e-mails the buyer: Amazon does.

**Single runs** (Trigger → Single Run): `shipments_since`/`shipments_until`
re-read a window, `amazon_order_ids` re-push chosen orders (all their shipments;
with `resend_refused`, packages Amazon refused go again too, as the "Amazon
orders" page's Re-push asks), `dry_run` shows what would be sent without
writing anything. Backfill runs ignore the window and order-id params (each
reads from the push's high-water mark) and honour `dry_run`. Re-running any
window sends nothing twice.

Connections: `commerce_api`, `amazon_sp_api`, `channel_db`. Pool:
`amazon_sp_api`. Settings: Variable `amazon_order_settings` (`overlap_minutes`,
`commerce_concurrency`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import AssetOrTimeSchedule, CronDataIntervalTimetable, TriggerRule, dag, task, task_group

from include.adapters.accounts import Account, account_doc, load_accounts
from include.adapters.alerts import OpsNotifier
from include.adapters.assets import orders_synced
from include.adapters.dag_defaults import (
    amazon_order_ids_param,
    dry_run_param,
    resend_refused_param,
    task_defaults,
    timestamp_param,
)
from include.tasks import tracking_push


def tracking_push_dag(account: Account) -> None:
    """The tracking-push DAG of one seller account, started by that account's sync asset (and every 30 minutes)."""
    synced = orders_synced(account)

    @dag(
        dag_id=account.push_dag_id,
        description=(
            "Commerce tracking numbers → Amazon confirmShipment: every 30 minutes, and after each "
            f"{account.sync_dag_id} that imported or updated merchant-fulfilled orders (asset {synced.name})."
        ),
        schedule=AssetOrTimeSchedule(
            timetable=CronDataIntervalTimetable("*/30 * * * *", timezone="UTC"), assets=[synced]
        ),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=timedelta(hours=1),
        tags=["amazon", "commerce", "tracking", f"account:{account.name}"],
        doc_md=__doc__ + account_doc(account),
        # A failed task or run alerts through include/adapters/alerts.py (logged; e-mailed with the alerts_smtp connection).
        on_failure_callback=OpsNotifier(),
        default_args=task_defaults(execution_timeout=timedelta(minutes=30)),
        params={
            "shipments_since": timestamp_param(
                "Shipments updated since (UTC)",
                "Read Commerce shipments created or updated at or after this time, e.g. 2026-11-25T00:00:00Z. "
                "Empty: since the last run (high-water mark minus the overlap).",
            ),
            "shipments_until": timestamp_param(
                "Shipments updated until (UTC)",
                "Up to this time (needs 'Shipments updated since'). Empty: up to now.",
            ),
            "amazon_order_ids": amazon_order_ids_param(
                "Push just these orders: all their Commerce shipments, whenever created. "
                "Confirmed packages are not sent again.",
            ),
            "resend_refused": resend_refused_param(),
            "dry_run": dry_run_param(
                "Read Commerce and build the packages, but send nothing to Amazon and write nothing "
                "(the summary lists what would be sent).",
            ),
        },
    )
    def amazon_tracking_push():
        @task
        def plan_shipments(params=None, data_interval_start=None, dag_run=None) -> dict:
            """Work out which Commerce shipments this run reads (window or chosen orders)."""
            return tracking_push.plan_run(params, data_interval_start, dag_run.run_type, account=account)

        @task_group
        def commerce_shipments(plan: dict):
            """Commerce shipments of merchant-fulfilled Amazon orders → one recorded Amazon package per tracking number."""

            @task
            def find_packages(plan: dict) -> dict:
                """Page through Commerce shipments; record new and changed packages in channel_shipment_push."""
                return tracking_push.find_packages(plan, account=account)

            return find_packages(plan)

        @task.branch
        def choose_steps(plan: dict) -> list[str]:
            """Run only the steps with work: packages to confirm and/or Commerce orders to complete."""
            task_of = {
                tracking_push.CONFIRM: "amazon_confirmations.confirm_packages",
                tracking_push.COMPLETE: "commerce_orders.complete_orders",
            }
            return [task_of[step] for step in tracking_push.steps_with_work(plan, account=account)]

        @task_group
        def amazon_confirmations():
            """confirmShipment per package, paced; every outcome recorded (confirmed, failed, refused)."""

            @task(pool=account.pool)
            def confirm_packages(ti=None) -> dict:
                """Confirm pending and failed packages on Amazon; update item quantities and channel status."""
                return tracking_push.confirm_packages(ti.xcom_pull(task_ids="plan_shipments"), account=account)

            return confirm_packages()

        @task_group
        def commerce_orders():
            """Fully confirmed orders: complete in Commerce with a comment, no customer notification."""

            @task(trigger_rule=TriggerRule.NONE_FAILED, pool="commerce_api")
            def complete_orders(ti=None) -> dict:
                """Invoice what is left (offline), check the order is complete, add the tracking comment once."""
                return tracking_push.complete_orders(ti.xcom_pull(task_ids="plan_shipments"), account=account)

            return complete_orders()

        @task(trigger_rule=TriggerRule.NONE_FAILED)
        def summarize(plan: dict, found: dict, ti=None) -> dict:
            """Packages confirmed, failed and refused with reasons; orders shipped and completed."""
            confirmed = ti.xcom_pull(task_ids="amazon_confirmations.confirm_packages")
            completed = ti.xcom_pull(task_ids="commerce_orders.complete_orders")
            return tracking_push.summarize(plan, found, confirmed, completed, account=account)

        plan = plan_shipments()
        found = commerce_shipments(plan)
        steps = choose_steps(plan)
        found >> steps
        confirm = amazon_confirmations()
        complete = commerce_orders()
        steps >> [confirm, complete]
        confirm >> complete
        complete >> summarize(plan, found)

    amazon_tracking_push()


for _account in load_accounts():
    tracking_push_dag(_account)
