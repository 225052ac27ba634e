"""Quarantine retry policy: when a failed import is tried next (``channel_order.next_attempt_at``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

A nullable timestamp: NULL means "not delayed" (every order before this revision,
and every order that never failed), so existing failed orders are tried on the next
run, then follow the retry policy (``include/domain/retry_policy.py``).
"""

import sqlalchemy as sa
from alembic import op

from include.channel_db.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("channel_order", sa.Column("next_attempt_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_order") as batch:
        batch.drop_column("next_attempt_at")
