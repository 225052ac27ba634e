"""Buyer data protection: buyer columns wide enough for ciphertext, and the purge time of each order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

``buyer_name`` and ``buyer_email`` become TEXT (a Fernet token of a 255-character
name is longer than 255 characters); ``buyer_data_purged_at`` records when the
retention DAG removed an order's buyer data. Rows are kept as they are: encrypting
the clear text an older release wrote needs the ``amazon_pii_key`` connection,
which a migration does not read, so that is ``python -m include.ops.pii reencrypt``
(README, Data protection). Until then the code reads clear values as before.
On SQLite the column types change by Alembic's batch mode (the table is copied).
"""

import sqlalchemy as sa
from alembic import op

from include.channel_db.types import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_order") as batch:
        for name in ("buyer_name", "buyer_email"):
            batch.alter_column(name, type_=sa.Text(), existing_type=sa.String(length=255), existing_nullable=True)
        batch.add_column(sa.Column("buyer_data_purged_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_order") as batch:
        batch.drop_column("buyer_data_purged_at")
        for name in ("buyer_name", "buyer_email"):
            batch.alter_column(name, type_=sa.String(length=255), existing_type=sa.Text(), existing_nullable=True)
