"""The channel database: staged Amazon orders, their import state, high-water marks, tracking pushes.

Plain functions over a SQLAlchemy ``Engine`` (each call is one transaction) or a
``Connection`` (the caller's transaction), on SQLite, MariaDB/MySQL and
PostgreSQL. Timestamps are stored in UTC: aware datetimes in, aware UTC
datetimes out (:class:`~include.channel_db.types.UtcDateTime`).

``tables``           the tables, defined once (``MetaData``); ``types``: ``UtcDateTime``
``migrate``          Alembic revisions up to those tables; ``scripts/channel-db``
``staging``          newer-wins upserts of orders and items (``upserts``); rejected orders
``import_state``     which orders to import or update; what each attempt did
``marks``            high-water marks
``leases``           claims of orders and packages by one task at a time (owner, expiry)
``tracking_orders``  the tracking push's view of orders and items
``pushes``           the tracking push's packages and order completions
``reports``          quarantine, counts, problems, data-quality checks
``buyer_data``       buyer data at rest: retention purge, re-encryption under a new key

Every statement other than the upserts is a file in ``include/sql/``
(:mod:`~include.channel_db.statements`). The names of ``migrate`` are loaded on
first use: Alembic stays out of the DAG files' imports.
"""

from typing import Any

from include.channel_db.import_state import (
    ChannelOrder,
    canceled_orders_to_settle,
    order_ids_to_import,
    orders_needing_update,
    orders_to_import,
    record_cancel_settled,
    record_failure,
    record_failures,
    record_imported,
    record_skipped,
    record_updated,
)
from include.channel_db.leases import Lease, claim_orders, claim_pushes, holding_leases, release_leases, renew_leases
from include.channel_db.marks import high_water_mark, set_high_water_mark
from include.channel_db.pushes import (
    COMPLETION_STATUSES,
    PUSH_STATUSES,
    OrderToComplete,
    orders_to_complete,
    pushes_to_send,
    record_completion,
    record_push_held,
    record_push_result,
    refresh_confirmed_quantities,
    save_shipment_pushes,
    shipment_pushes,
)
from include.channel_db.reports import (
    DQ_CHECKS,
    QuarantinedOrder,
    completion_problems,
    dq_check_sql,
    outcome_counts,
    push_counts,
    push_problems,
    quarantine,
    run_check,
)
from include.channel_db.staging import (
    StageResult,
    clear_rejections,
    record_rejections,
    upsert_staged,
    upsert_staged_isolating,
)
from include.channel_db.statements import BATCH_ROWS, DEFAULT_ACCOUNT, sql
from include.channel_db.tracking_orders import (
    TrackingItem,
    TrackingOrder,
    oldest_imported_mfn_order,
    set_commerce_item_ids,
    tracking_items,
    tracking_orders_by_amazon_id,
    tracking_orders_by_commerce_id,
)
from include.channel_db.types import NaiveDatetimeError, UtcDateTime, now_utc

__all__ = [
    "BATCH_ROWS", "COMPLETION_STATUSES", "DEFAULT_ACCOUNT", "DQ_CHECKS", "PUSH_STATUSES", "ChannelOrder", "Lease",
    "NaiveDatetimeError", "claim_orders", "claim_pushes", "holding_leases", "release_leases", "renew_leases",
    "OrderToComplete", "QuarantinedOrder", "SchemaNotCurrent", "SchemaState", "StageResult",
    "TrackingItem", "TrackingOrder", "UtcDateTime", "canceled_orders_to_settle", "clear_rejections",
    "completion_problems", "dq_check_sql", "head_revision", "high_water_mark", "now_utc", "oldest_imported_mfn_order",
    "order_ids_to_import", "orders_needing_update", "orders_to_complete", "orders_to_import", "outcome_counts",
    "push_counts", "push_problems", "pushes_to_send", "quarantine", "record_cancel_settled", "record_completion",
    "record_failure", "record_failures", "record_imported", "record_push_held", "record_push_result", "record_rejections",
    "record_skipped", "record_updated", "refresh_confirmed_quantities", "require_current", "run_check",
    "save_shipment_pushes", "schema_state", "set_commerce_item_ids", "set_high_water_mark", "shipment_pushes", "sql",
    "tracking_items", "tracking_orders_by_amazon_id", "tracking_orders_by_commerce_id", "upgrade", "upsert_staged",
    "upsert_staged_isolating",
]  # fmt: skip

#: Names of :mod:`include.channel_db.migrate`, imported when first used (see :func:`__getattr__`).
_MIGRATE = ("SchemaNotCurrent", "SchemaState", "head_revision", "require_current", "schema_state", "upgrade")


def __getattr__(name: str) -> Any:
    if name in _MIGRATE:
        from include.channel_db import migrate

        return getattr(migrate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
