"""The seller account of every landed order set aside at staging.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

``channel_order_rejection.account``: the account whose landing page held the
rejected record, so each account's quarantine lists only its own. Rows recorded
before this revision keep NULL (their account was never recorded) and are listed
under every account, as before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("channel_order_rejection", sa.Column("account", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_order_rejection") as batch:
        batch.drop_column("account")
