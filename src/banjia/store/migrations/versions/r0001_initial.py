"""keys, grants, reservations, instances and the ledger

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "banjia_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("is_master", sa.Boolean, nullable=False),
        sa.Column("models", sa.Text, nullable=True),
        sa.Column("rpm", sa.Integer, nullable=True),
        sa.Column("tpm", sa.Integer, nullable=True),
        sa.Column("quota_tokens", sa.BigInteger, nullable=True),
        sa.Column("quota_nano_cny", sa.BigInteger, nullable=True),
        sa.Column("used_tokens", sa.BigInteger, nullable=False),
        sa.Column("used_nano_cny", sa.BigInteger, nullable=False),
        sa.Column("reserved_tokens", sa.BigInteger, nullable=False),
        sa.Column("reserved_nano_cny", sa.BigInteger, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "banjia_grants",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("tokens", sa.BigInteger, nullable=True),
        sa.Column("nano_cny", sa.BigInteger, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_banjia_grants_key_id", "banjia_grants", ["key_id"])
    op.create_table(
        "banjia_reservations",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("tokens", sa.BigInteger, nullable=False),
        sa.Column("nano_cny", sa.BigInteger, nullable=False),
        sa.Column("instance_id", sa.String(40), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_banjia_reservations_instance_id", "banjia_reservations", ["instance_id"])
    op.create_table(
        "banjia_instances",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("heartbeat_at", _TS, nullable=False),
    )
    op.create_table(
        "banjia_ledger",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("key_id", sa.String(40), nullable=True),
        sa.Column("endpoint", sa.String(32), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(100), nullable=True),
        sa.Column("provider_type", sa.String(50), nullable=True),
        sa.Column("upstream_model", sa.String(200), nullable=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("error_code", sa.String(100), nullable=True),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False),
        sa.Column("cached_tokens", sa.BigInteger, nullable=False),
        sa.Column("reasoning_tokens", sa.BigInteger, nullable=False),
        sa.Column("usage_estimated", sa.Boolean, nullable=False),
        sa.Column("cost_nano_cny", sa.BigInteger, nullable=True),
        sa.Column("openai_cost_nano_cny", sa.BigInteger, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("ttft_ms", sa.Float, nullable=True),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("client_disconnected", sa.Boolean, nullable=False),
    )
    op.create_index("ix_banjia_ledger_created_at", "banjia_ledger", ["created_at"])
    op.create_index("ix_banjia_ledger_key_created", "banjia_ledger", ["key_id", "created_at"])


def downgrade() -> None:
    for table in ("banjia_ledger", "banjia_instances", "banjia_reservations", "banjia_grants",
                  "banjia_keys"):
        op.drop_table(table)
