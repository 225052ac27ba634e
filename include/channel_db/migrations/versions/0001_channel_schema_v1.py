"""The channel schema as the releases before migrations created it (``include/sql/schema.*.sql``).

Revision ID: 0001
Revises:
Create Date: 2026-11-30

A database that such a release created has these tables but no version table:
:func:`include.channel_db.migrate.upgrade` recognises it, and this revision then
only creates the tables it lacks (as the old ``CREATE TABLE IF NOT EXISTS`` did),
never touching the ones it has. A frozen copy: later changes are later revisions.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from include.channel_db.types import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MYSQL_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, create in CREATE.items():
        if name not in existing:
            create()


def downgrade() -> None:
    for name in reversed(CREATE):
        op.drop_table(name)


def _create_channel_order() -> None:
    op.create_table(
        "channel_order",
        sa.Column("amazon_order_id", sa.String(length=50), nullable=False),
        sa.Column("marketplace_id", sa.String(length=32), nullable=False),
        sa.Column("fulfilled_by", sa.String(length=16), nullable=False),
        sa.Column("amazon_status", sa.String(length=32), nullable=False),
        sa.Column("channel_status", sa.String(length=32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_updated_at", UtcDateTime(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("order_total", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("item_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("buyer_name", sa.String(length=255), nullable=True),
        sa.Column("buyer_email", sa.String(length=255), nullable=True),
        sa.Column("sync_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"), nullable=False),
        sa.Column("first_seen_at", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.Column("import_status", sa.String(length=16), server_default=sa.text("'staged'"), nullable=False),
        sa.Column("import_error", sa.Text(), nullable=True),
        sa.Column("import_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("first_failed_at", UtcDateTime(), nullable=True),
        sa.Column("last_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("commerce_order_id", sa.BigInteger(), nullable=True),
        sa.Column("commerce_increment_id", sa.String(length=50), nullable=True),
        sa.Column("imported_at", UtcDateTime(), nullable=True),
        sa.Column("imported_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("commerce_updated_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("amazon_order_id"),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_channel_order_import", "channel_order", ["import_status", "fulfilled_by"])
    op.create_index("ix_channel_order_updated", "channel_order", ["last_updated_at"])
    op.create_index("ix_channel_order_commerce", "channel_order", ["commerce_order_id"])


def _create_channel_order_item() -> None:
    op.create_table(
        "channel_order_item",
        sa.Column("amazon_order_id", sa.String(length=50), nullable=False),
        sa.Column("order_item_id", sa.String(length=50), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("asin", sa.String(length=16), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("quantity_ordered", sa.Integer(), nullable=False),
        sa.Column("quantity_shipped", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("quantity_confirmed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("unit_price", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("item_subtotal", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("item_tax", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("item_discount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("shipping_price", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("shipping_tax", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("shipping_discount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("proceeds_total", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("order_last_updated_at", UtcDateTime(), nullable=False),
        sa.Column("commerce_order_item_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("amazon_order_id", "order_item_id"),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_channel_order_item_sku", "channel_order_item", ["sku"])


def _create_channel_order_link() -> None:
    op.create_table(
        "channel_order_link",
        sa.Column("commerce_order_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("amazon_order_id", sa.String(length=50), nullable=False),
        sa.Column("commerce_increment_id", sa.String(length=50), nullable=True),
        sa.Column("linked_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("commerce_order_id"),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_channel_order_link_amazon", "channel_order_link", ["amazon_order_id"])


def _create_channel_sync_state() -> None:
    op.create_table(
        "channel_sync_state",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("high_water_mark", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("job"),
        **MYSQL_OPTIONS,
    )


def _create_channel_shipment_push() -> None:
    op.create_table(
        "channel_shipment_push",
        sa.Column("amazon_order_id", sa.String(length=50), nullable=False),
        sa.Column("package_reference_id", sa.String(length=40), nullable=False),
        sa.Column("commerce_order_id", sa.BigInteger(), nullable=True),
        sa.Column("commerce_shipment_id", sa.BigInteger(), nullable=False),
        sa.Column("commerce_track_id", sa.BigInteger(), nullable=False),
        sa.Column("carrier_code", sa.String(length=64), nullable=True),
        sa.Column("carrier_name", sa.String(length=255), nullable=True),
        sa.Column("shipping_method", sa.String(length=255), nullable=True),
        sa.Column("tracking_number", sa.String(length=255), nullable=True),
        sa.Column("ship_date", UtcDateTime(), nullable=True),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("first_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("last_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("confirmed_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("amazon_order_id", "package_reference_id"),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_channel_shipment_push_status", "channel_shipment_push", ["status"])
    op.create_index(
        "ix_channel_shipment_push_shipment", "channel_shipment_push", ["commerce_shipment_id", "commerce_track_id"]
    )


def _create_channel_order_completion() -> None:
    op.create_table(
        "channel_order_completion",
        sa.Column("amazon_order_id", sa.String(length=50), nullable=False),
        sa.Column("commerce_order_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("first_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("last_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("amazon_order_id"),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_channel_order_completion_status", "channel_order_completion", ["status"])


def _create_channel_order_rejection() -> None:
    op.create_table(
        "channel_order_rejection",
        sa.Column("rejection_key", sa.String(length=64), nullable=False),
        sa.Column("amazon_order_id", sa.String(length=50), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("landing_source", sa.Text(), nullable=True),
        sa.Column("times_seen", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("first_seen_at", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("rejection_key"),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_channel_order_rejection_order", "channel_order_rejection", ["amazon_order_id"])


#: Each table of the schema and how this revision creates it, in creation order.
CREATE = {
    "channel_order": _create_channel_order,
    "channel_order_item": _create_channel_order_item,
    "channel_order_link": _create_channel_order_link,
    "channel_sync_state": _create_channel_sync_state,
    "channel_shipment_push": _create_channel_shipment_push,
    "channel_order_completion": _create_channel_order_completion,
    "channel_order_rejection": _create_channel_order_rejection,
}
