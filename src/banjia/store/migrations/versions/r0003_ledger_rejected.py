"""ledger rows the database refused, kept for recovery instead of blocking the ledger

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "banjia_ledger_rejected",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("rejected_at", _TS, nullable=False),
        sa.Column("error", sa.Text, nullable=False),  # the exception's type and message
        sa.Column("row", sa.Text, nullable=False),  # the ledger row, JSON in ASCII
    )


def downgrade() -> None:
    op.drop_table("banjia_ledger_rejected")
