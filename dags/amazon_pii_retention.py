"""
### Buyer data retention (Amazon's Data Protection Policy)

Amazon lets us keep buyer data (names, e-mail relay addresses, delivery
addresses, phone numbers, business buyers' company and tax data) only as long
as the order needs it: at most 30 days after delivery. Every day this DAG
removes it from orders whose last Amazon update in a final status (shipped,
cancelled, unfulfillable) is older than `pii_retention_days` of the order's seller
account (its settings Variable; 30 by default). One run handles every account of
the accounts file, each with its own retention and landing store (`landing_uri`).

* **purge_channel_orders** — in `channel_order`, the buyer columns are emptied
  and the raw order (payload) keeps only ids, statuses, amounts, SKUs and
  packages; `buyer_data_purged_at` is set. Import state, items, Commerce links
  and tracking pushes are kept, so re-runs, reports and the tracking push work
  as before.
* **purge_landing_pages** — every landed version of those orders, and any
  landed order past retention, is redacted in place in the landing store's
  pages (line numbers kept: the pages stay replayable).
* **summarize** — the counts, per account and in total; the run's note says how
  many orders were purged for each account.

A purged order Amazon returns again unchanged stays as it is (never re-imported
or stored again); a newer version is stored encrypted and purged again on
schedule. Connections: `channel_db`, `amazon_pii_key`. Settings: each account's
Variable (`amazon_order_settings` for `default`: `pii_retention_days`, `landing_uri`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import CronDataIntervalTimetable, dag, task

from include.adapters.alerts import OpsNotifier
from include.adapters.dag_defaults import task_defaults
from include.tasks import pii_retention


@dag(
    description="Removes buyer data of orders past their account's pii_retention_days (Amazon's data protection): daily.",
    schedule=CronDataIntervalTimetable("30 3 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    tags=["amazon", "data-protection"],
    doc_md=__doc__,
    on_failure_callback=OpsNotifier(),
    default_args=task_defaults(execution_timeout=timedelta(hours=1)),
)
def amazon_pii_retention():
    @task
    def purge_channel_orders() -> dict:
        """Empty the buyer columns and redact the payload of channel orders past retention."""
        return pii_retention.purge_channel_orders()

    @task
    def purge_landing_pages(channel: dict) -> dict:
        """Redact those orders, and any landed order past retention, in the landing store's pages."""
        return pii_retention.purge_landing_pages(channel)

    @task
    def summarize(channel: dict, landing: dict) -> dict:
        """Counts for the run's note: orders purged in this run and overall, pages rewritten."""
        return pii_retention.summarize(channel, landing)

    channel = purge_channel_orders()
    summarize(channel, purge_landing_pages(channel))


amazon_pii_retention()
