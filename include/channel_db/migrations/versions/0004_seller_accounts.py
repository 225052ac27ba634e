"""Several seller accounts: the account of every order, shipment push and high-water mark.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

``channel_order.account`` and ``channel_shipment_push.account`` (existing rows:
``default``, the account a one-account deployment has), and high-water marks per
(job, account): ``channel_sync_state`` is rebuilt with that key, its rows kept as
the ``default`` account's.
"""

import sqlalchemy as sa
from alembic import op

from include.channel_db.types import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _account() -> sa.Column:
    return sa.Column("account", sa.String(32), nullable=False, server_default=sa.text("'default'"))


def _sync_state(name: str, *, with_account: bool) -> None:
    """``channel_sync_state`` as it is with (this revision) or without (0003 and before) the account in its key."""
    op.create_table(
        name,
        sa.Column("job", sa.String(64), primary_key=True),
        *([sa.Column("account", sa.String(32), primary_key=True, server_default=sa.text("'default'"))]
          if with_account else []),
        sa.Column("high_water_mark", UtcDateTime()),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )  # fmt: skip


def _swap_sync_state(select: str) -> None:
    """Fill ``channel_sync_state_new`` from ``channel_sync_state`` with ``select``, then replace the old table."""
    op.execute(f"INSERT INTO channel_sync_state_new {select}")
    op.drop_table("channel_sync_state")
    op.rename_table("channel_sync_state_new", "channel_sync_state")


def upgrade() -> None:
    op.add_column("channel_order", _account())
    op.create_index("ix_channel_order_account", "channel_order", ["account", "import_status"])
    op.add_column("channel_shipment_push", _account())
    op.create_index("ix_channel_shipment_push_account", "channel_shipment_push", ["account", "status"])
    _sync_state("channel_sync_state_new", with_account=True)
    _swap_sync_state("SELECT job, 'default', high_water_mark, updated_at FROM channel_sync_state")


def downgrade() -> None:
    _sync_state("channel_sync_state_new", with_account=False)
    _swap_sync_state("SELECT job, high_water_mark, updated_at FROM channel_sync_state WHERE account = 'default'")
    op.drop_index("ix_channel_shipment_push_account", "channel_shipment_push")
    with op.batch_alter_table("channel_shipment_push") as batch:
        batch.drop_column("account")
    op.drop_index("ix_channel_order_account", "channel_order")
    with op.batch_alter_table("channel_order") as batch:
        batch.drop_column("account")
