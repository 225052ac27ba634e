"""The channel tables, defined once for SQLite, MySQL/MariaDB and PostgreSQL.

This ``MetaData`` is what the code expects; the Alembic revisions in
``migrations/versions/`` bring a database to it (a test checks that the head
revision and these definitions agree). Changing a table: edit it here, then add
a revision (``migrations/versions/``) that makes the same change.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, Numeric, String, Table, Text, text
from sqlalchemy.dialects import mysql

from include.channel_db.types import UtcDateTime

metadata = MetaData()

#: Options every table gets on MySQL/MariaDB.
_MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def _money(name: str) -> Column:
    return Column(name, Numeric(14, 2))


def _count(name: str, default: int = 0) -> Column:
    return Column(name, Integer, nullable=False, server_default=text(str(default)))


def _account() -> Column:
    """The seller account (include/accounts.yaml) a row belongs to; rows from before accounts: ``default``."""
    return Column("account", String(32), nullable=False, server_default=text("'default'"))


def _lease() -> tuple[Column, Column]:
    """Which task writes the row now, until when (``include/channel_db/leases.py``); both NULL: free."""
    return Column("lease_owner", String(200)), Column("lease_expires_at", UtcDateTime)


channel_order = Table(
    "channel_order",
    metadata,
    Column("amazon_order_id", String(50), primary_key=True),
    _account(),
    Column("marketplace_id", String(32), nullable=False),
    Column("fulfilled_by", String(16), nullable=False),
    Column("amazon_status", String(32), nullable=False),
    Column("channel_status", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_updated_at", UtcDateTime, nullable=False),
    Column("currency", String(3)),
    _money("order_total"),
    _count("item_count"),
    # Buyer data, stored as Fernet tokens (include/domain/buyer_data.py); NULL / redacted once purged.
    Column("buyer_name", Text),
    Column("buyer_email", Text),
    Column("sync_fingerprint", String(64), nullable=False),
    Column("payload", Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"), nullable=False),
    Column("buyer_data_purged_at", UtcDateTime),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("import_status", String(16), nullable=False, server_default=text("'staged'")),
    Column("import_error", Text),
    _count("import_attempts"),
    Column("first_failed_at", UtcDateTime),
    Column("last_attempt_at", UtcDateTime),
    Column("commerce_order_id", BigInteger),
    Column("commerce_increment_id", String(50)),
    Column("imported_at", UtcDateTime),
    Column("imported_fingerprint", String(64)),
    Column("commerce_updated_at", UtcDateTime),
    # When a failed import is tried next (retry policy); NULL: not delayed. Read by the quarantine views.
    Column("next_attempt_at", UtcDateTime),
    *_lease(),
    Index("ix_channel_order_import", "import_status", "fulfilled_by"),
    Index("ix_channel_order_account", "account", "import_status"),
    Index("ix_channel_order_updated", "last_updated_at"),
    Index("ix_channel_order_commerce", "commerce_order_id"),
    Index("ix_channel_order_lease", "lease_owner"),
    **_MYSQL,
)

channel_order_item = Table(
    "channel_order_item",
    metadata,
    Column("amazon_order_id", String(50), primary_key=True),
    Column("order_item_id", String(50), primary_key=True),
    Column("sku", String(64)),
    Column("asin", String(16)),
    Column("title", String(500)),
    Column("quantity_ordered", Integer, nullable=False),
    _count("quantity_shipped"),
    _count("quantity_confirmed"),
    Column("currency", String(3)),
    *(
        _money(name)
        for name in (
            "unit_price",
            "item_subtotal",
            "item_tax",
            "item_discount",
            "shipping_price",
            "shipping_tax",
            "shipping_discount",
            "proceeds_total",
        )
    ),  # fmt: skip
    Column("order_last_updated_at", UtcDateTime, nullable=False),
    Column("commerce_order_item_id", BigInteger),
    Index("ix_channel_order_item_sku", "sku"),
    **_MYSQL,
)

#: Every Commerce order ever recorded for an Amazon order (the duplicate check reads it).
channel_order_link = Table(
    "channel_order_link",
    metadata,
    Column("commerce_order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("amazon_order_id", String(50), nullable=False),
    Column("commerce_increment_id", String(50)),
    Column("linked_at", UtcDateTime, nullable=False),
    Index("ix_channel_order_link_amazon", "amazon_order_id"),
    **_MYSQL,
)

#: A high-water mark per job and seller account; it only moves forward.
channel_sync_state = Table(
    "channel_sync_state",
    metadata,
    Column("job", String(64), primary_key=True),
    Column("account", String(32), primary_key=True, server_default=text("'default'")),
    Column("high_water_mark", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    **_MYSQL,
)

#: One row per Amazon package (one Commerce tracking number) of amazon_tracking_push. status: pending (to send),
#: confirmed, failed (transient error: retried next run), refused (Amazon said no for good: kept with its reason),
#: skipped (cannot be built, e.g. an unmapped item). items: JSON [["<Amazon orderItemId>", quantity], ...].
channel_shipment_push = Table(
    "channel_shipment_push",
    metadata,
    Column("amazon_order_id", String(50), primary_key=True),
    Column("package_reference_id", String(40), primary_key=True),
    _account(),
    Column("commerce_order_id", BigInteger),
    Column("commerce_shipment_id", BigInteger, nullable=False),
    Column("commerce_track_id", BigInteger, nullable=False),
    Column("carrier_code", String(64)),
    Column("carrier_name", String(255)),
    Column("shipping_method", String(255)),
    Column("tracking_number", String(255)),
    Column("ship_date", UtcDateTime),
    Column("items", Text, nullable=False),
    Column("status", String(16), nullable=False, server_default=text("'pending'")),
    _count("attempts"),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("first_attempt_at", UtcDateTime),
    Column("last_attempt_at", UtcDateTime),
    Column("confirmed_at", UtcDateTime),
    *_lease(),
    Index("ix_channel_shipment_push_status", "status"),
    Index("ix_channel_shipment_push_account", "account", "status"),
    Index("ix_channel_shipment_push_shipment", "commerce_shipment_id", "commerce_track_id"),
    Index("ix_channel_shipment_push_lease", "lease_owner"),
    **_MYSQL,
)

#: One row per merchant-fulfilled order whose items are all confirmed on Amazon: closing it in Commerce (complete,
#: with a status-history comment). status: completed | failed (retried) | skipped (nothing to close).
channel_order_completion = Table(
    "channel_order_completion",
    metadata,
    Column("amazon_order_id", String(50), primary_key=True),
    Column("commerce_order_id", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    _count("attempts"),
    Column("last_error", Text),
    Column("first_attempt_at", UtcDateTime, nullable=False),
    Column("last_attempt_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime),
    Index("ix_channel_order_completion_status", "status"),
    **_MYSQL,
)

#: Landed orders set aside at staging (malformed, or refused by this database), one row per order (or per raw
#: record when it has no usable orderId): the reason (field names, never values), the landing page file and line
#: holding the raw version for replay, the seller account whose landing page held it (NULL for rows recorded
#: before accounts were: listed under every account). Deleted once a valid version of the order is staged.
channel_order_rejection = Table(
    "channel_order_rejection",
    metadata,
    Column("rejection_key", String(64), primary_key=True),
    Column("amazon_order_id", String(50)),
    Column("reason", Text, nullable=False),
    Column("landing_source", Text),
    Column("account", String(32)),
    _count("times_seen", 1),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Index("ix_channel_order_rejection_order", "amazon_order_id"),
    **_MYSQL,
)

#: Column names holding timestamps, in any table (statements bind and read them as :class:`UtcDateTime`).
TIMESTAMP_COLUMNS = frozenset(
    column.name
    for table in metadata.tables.values()
    for column in table.columns
    if isinstance(column.type, UtcDateTime)
)
