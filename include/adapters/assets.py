"""Assets the DAGs produce and consume."""

from airflow.sdk import Asset

#: Updated by an amazon_order_sync run that imported or updated merchant-fulfilled orders (its `announce_changes`
#: task; skipped otherwise); the event extra carries the run's counts. Starts amazon_tracking_push.
ORDERS_SYNCED = Asset(name="amazon_orders_synced", uri="x-amazon-commerce://orders/synced", group="amazon")
