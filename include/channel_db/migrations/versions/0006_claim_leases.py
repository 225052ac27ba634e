"""Leases: which task holds an order or a shipment push while it writes it, until when.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30

``lease_owner`` and ``lease_expires_at`` on ``channel_order`` (the sync's imports and
updates, the tracking push's order completions) and on ``channel_shipment_push`` (one
``confirmShipment`` per package). Columns on the rows themselves rather than a lease
table: the claim is then one conditional UPDATE of the rows the task is about to
write, with no second table to keep in step and nothing to clean up. Both NULL: free
(every existing row). Indexed by owner, which releases and renewals look up.
"""

import sqlalchemy as sa
from alembic import op

from include.channel_db.types import UtcDateTime

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("channel_order", "channel_shipment_push")


def upgrade() -> None:
    for name in TABLES:
        op.add_column(name, sa.Column("lease_owner", sa.String(200), nullable=True))
        op.add_column(name, sa.Column("lease_expires_at", UtcDateTime(), nullable=True))
        op.create_index(f"ix_{name}_lease", name, ["lease_owner"])


def downgrade() -> None:
    for name in TABLES:
        op.drop_index(f"ix_{name}_lease", name)
        with op.batch_alter_table(name) as batch:
            batch.drop_column("lease_expires_at")
            batch.drop_column("lease_owner")
