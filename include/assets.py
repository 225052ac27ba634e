"""Assets the DAGs produce and consume."""

from airflow.sdk import Asset

#: Updated by every amazon_order_sync run; its event extra carries the run's counts.
ORDERS_SYNCED = Asset(name="amazon_orders_synced", uri="x-amazon-commerce://orders/synced", group="amazon")
