"""The tables, as SQLAlchemy Core metadata (the migrations under ``migrations/`` create them).

Money is stored as integer nano-CNY (1e-9 CNY): sums and quota checks stay exact in SQL on both
SQLite and PostgreSQL, and a single token of the cheapest model still costs a whole number of them.
Times are UTC; SQLite keeps them naive, so :class:`UTCDateTime` re-attaches the zone on the way out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "NANO",
    "UTCDateTime",
    "batches",
    "files",
    "from_nano",
    "grants",
    "instances",
    "keys",
    "ledger",
    "ledger_rejected",
    "metadata",
    "reservations",
    "to_nano",
]

NANO = 1_000_000_000


def to_nano(cny: float) -> int:
    return round(cny * NANO)


def from_nano(n: int | None) -> float:
    return 0.0 if n is None else n / NANO


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

keys = Table(
    "banjia_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    # what identifies a key to a human ("sk-banjia-AbCd"); never enough to use it
    Column("prefix", String(20), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the whole key
    Column("is_master", Boolean, nullable=False, default=False),
    Column("models", Text, nullable=True),  # JSON list; NULL: every model
    Column("rpm", Integer, nullable=True),
    Column("tpm", Integer, nullable=True),
    # quotas include every grant; NULL: unlimited in that unit
    Column("quota_tokens", BigInteger, nullable=True),
    Column("quota_nano_cny", BigInteger, nullable=True),
    Column("used_tokens", BigInteger, nullable=False, default=0),
    Column("used_nano_cny", BigInteger, nullable=False, default=0),
    # held by requests in flight (see ``reservations``)
    Column("reserved_tokens", BigInteger, nullable=False, default=0),
    Column("reserved_nano_cny", BigInteger, nullable=False, default=0),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

grants = Table(
    "banjia_grants",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("key_id", String(40), nullable=False, index=True),
    Column("tokens", BigInteger, nullable=True),
    Column("nano_cny", BigInteger, nullable=True),
    Column("note", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# One row per request in flight that holds quota. A process that dies leaves its rows behind;
# a live process returns them to the key once the owner's heartbeat in ``instances`` is stale.
reservations = Table(
    "banjia_reservations",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("key_id", String(40), nullable=False),
    Column("tokens", BigInteger, nullable=False),
    Column("nano_cny", BigInteger, nullable=False),
    Column("instance_id", String(40), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
)

instances = Table(
    "banjia_instances",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("heartbeat_at", UTCDateTime, nullable=False),
)

ledger = Table(
    "banjia_ledger",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    # unique, so a flush retried after an unclear commit can never write a request twice
    Column("request_id", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),  # when the request started
    Column("key_id", String(40), nullable=True),
    Column("endpoint", String(32), nullable=False),
    Column("model", String(200), nullable=False),  # as the client asked
    Column("provider", String(100), nullable=True),
    Column("provider_type", String(50), nullable=True),
    Column("upstream_model", String(200), nullable=True),
    Column("status", Integer, nullable=False),
    Column("error_code", String(100), nullable=True),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("cached_tokens", BigInteger, nullable=False),
    Column("reasoning_tokens", BigInteger, nullable=False),
    Column("usage_estimated", Boolean, nullable=False),
    Column("cost_nano_cny", BigInteger, nullable=True),  # NULL: the catalog has no price
    Column("openai_cost_nano_cny", BigInteger, nullable=False),
    Column("latency_ms", Float, nullable=True),
    Column("ttft_ms", Float, nullable=True),
    Column("stream", Boolean, nullable=False),
    Column("client_disconnected", Boolean, nullable=False),
    # a line of a Batch API batch, priced at the vendor's batch rate (banjia.batches)
    Column("batch", Boolean, nullable=False, default=False, server_default=false()),
    Index("ix_banjia_ledger_created_at", "created_at"),
    Index("ix_banjia_ledger_key_created", "key_id", "created_at"),
)

# Ledger rows the database refused (a value it cannot store): kept here, as JSON in ASCII so the
# refusal cannot repeat, instead of blocking the rows behind them. Their usage is still settled
# to the key. An operator can fix and re-insert them; see banjia.store.ledger.
ledger_rejected = Table(
    "banjia_ledger_rejected",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("rejected_at", UTCDateTime, nullable=False),
    Column("error", Text, nullable=False),  # the exception's type and message
    Column("row", Text, nullable=False),  # the ledger row, JSON (ensure_ascii)
)

# stored Responses API responses (banjia.responses); times are epoch seconds, bodies JSON
responses = Table(
    "responses",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(64), nullable=True),  # the key id that created it
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("response", Text, nullable=False),
    Column("context", Text, nullable=False),
    Index("ix_responses_expires_at", "expires_at"),
)

# The Batch API (banjia.batches): banjia's own file and batch ids, each owned by one key, mapped
# to the one provider that runs the batch; any replica answers from here. Times are Unix seconds.
files = Table(
    "banjia_files",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("key_id", String(40), nullable=False),
    Column("purpose", String(32), nullable=False),  # batch, batch_output
    Column("filename", String(255), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("batch_id", String(64), nullable=True),  # the batch an output file is of
    Column("content", LargeBinary, nullable=False),
    Index("ix_banjia_files_key_created", "key_id", "created_at"),
)

batches = Table(
    "banjia_batches",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("key_id", String(40), nullable=False),
    Column("endpoint", String(64), nullable=False),
    Column("input_file_id", String(64), nullable=False),
    Column("provider", String(100), nullable=False),
    Column("provider_type", String(50), nullable=False),
    Column("upstream_id", String(200), nullable=False),
    Column("model", String(200), nullable=False),  # the first line's model, as asked
    Column("lines", Text, nullable=False),  # JSON: custom_id -> [line, asked, upstream model]
    Column("meta", Text, nullable=True),  # JSON: the client's metadata
    Column("status", String(32), nullable=False),
    Column("snapshot", Text, nullable=False),  # JSON: the upstream's last state
    Column("request_total", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # the replica settling a finished batch: claimed with a conditional UPDATE, so one does
    Column("claimed_by", String(40), nullable=True),
    Column("claimed_at", Float, nullable=True),
    Column("settled_at", BigInteger, nullable=True),
    Column("output_file_id", String(64), nullable=True),
    Column("error_file_id", String(64), nullable=True),
    Index("ix_banjia_batches_key_created", "key_id", "created_at"),
)
