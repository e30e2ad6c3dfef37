"""the Batch API: banjia's files and batches (mapped to the upstream's), and the ledger's batch flag

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "banjia_files",
        sa.Column("id", sa.String(64), primary_key=True),  # file-…, banjia's own
        sa.Column("key_id", sa.String(40), nullable=False),  # the owner: no other key sees it
        sa.Column("purpose", sa.String(32), nullable=False),  # batch, batch_output
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),  # Unix seconds
        sa.Column("batch_id", sa.String(64), nullable=True),  # the batch an output file is of
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_banjia_files_key_created", "banjia_files", ["key_id", "created_at"])
    op.create_table(
        "banjia_batches",
        sa.Column("id", sa.String(64), primary_key=True),  # batch_…, banjia's own
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),  # as the client named it
        sa.Column("input_file_id", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(100), nullable=False),  # the one provider that runs it
        sa.Column("provider_type", sa.String(50), nullable=False),
        sa.Column("upstream_id", sa.String(200), nullable=False),  # the provider's batch id
        sa.Column("model", sa.String(200), nullable=False),  # the first line's model, as asked
        sa.Column("lines", sa.Text, nullable=False),  # JSON: custom_id → [line, asked, upstream]
        sa.Column("meta", sa.Text, nullable=True),  # JSON: the client's metadata
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("snapshot", sa.Text, nullable=False),  # JSON: the upstream's last state
        sa.Column("request_total", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        # the replica settling a finished batch (downloading it, writing its ledger rows)
        sa.Column("claimed_by", sa.String(40), nullable=True),
        sa.Column("claimed_at", sa.Float, nullable=True),
        sa.Column("settled_at", sa.BigInteger, nullable=True),
        sa.Column("output_file_id", sa.String(64), nullable=True),
        sa.Column("error_file_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_banjia_batches_key_created", "banjia_batches", ["key_id", "created_at"])
    op.add_column("banjia_ledger",
                  sa.Column("batch", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("banjia_ledger", "batch")
    op.drop_index("ix_banjia_batches_key_created", "banjia_batches")
    op.drop_table("banjia_batches")
    op.drop_index("ix_banjia_files_key_created", "banjia_files")
    op.drop_table("banjia_files")
