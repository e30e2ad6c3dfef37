"""Reads of the ledger the admin API has no report for: days, error counts, one request, the
last failure of each provider.

Days are calendar days in China Standard Time (UTC+8, no daylight saving), the time the console
shows: "today" starts at midnight in Beijing. The figures are computed the way
:mod:`banjia.store.reports` computes them (nano-CNY sums, the saving against OpenAI).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, case, func, select

from banjia.store import Store
from banjia.store.schema import from_nano, ledger

__all__ = [
    "CST",
    "Day",
    "Request",
    "daily",
    "day_start",
    "last_errors",
    "one_request",
]

CST = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True, slots=True)
class Day:
    day: str  # YYYY-MM-DD in CST
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_cny: float = 0.0
    openai_cost_cny: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def saving_cny(self) -> float:
        return round(self.openai_cost_cny - self.cost_cny, 9)


@dataclass(frozen=True, slots=True)
class Request:
    """One ledger row as the console shows it: never a prompt nor an answer (the ledger has none)."""

    request_id: str  # as the client saw it in x-request-id
    created_at: datetime
    key_id: str | None
    endpoint: str
    model: str
    upstream: str | None
    status: int
    error_code: str | None
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost_cny: float | None
    openai_cost_cny: float
    latency_ms: float | None
    ttft_ms: float | None
    stream: bool
    client_disconnected: bool
    usage_estimated: bool


def day_start(days_back: int = 0, now: datetime | None = None) -> datetime:
    """Midnight CST ``days_back`` days before today, in UTC."""
    today = (now or datetime.now(UTC)).astimezone(CST).date()
    start = datetime.combine(today - timedelta(days=days_back), datetime.min.time(), CST)
    return start.astimezone(UTC)


def _cst_day(store: Store) -> ColumnElement[Any]:
    col = ledger.c.created_at
    if store.db.engine.dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", col), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", col, "+8 hours")  # SQLite keeps naive UTC


async def daily(store: Store, days: int = 30, now: datetime | None = None) -> list[Day]:
    """One :class:`Day` for each of the last ``days`` days (today last), zeros where none ran."""
    c = ledger.c
    day = _cst_day(store)
    since = day_start(days - 1, now)
    q = (select(day, func.count(), func.coalesce(func.sum(case((c.status >= 400, 1), else_=0)), 0),
                func.coalesce(func.sum(c.prompt_tokens), 0),
                func.coalesce(func.sum(c.completion_tokens), 0),
                func.coalesce(func.sum(c.cost_nano_cny), 0),
                func.coalesce(func.sum(c.openai_cost_nano_cny), 0))
         .where(c.created_at >= since).group_by(day))
    async with store.db.read() as conn:
        found = {str(r[0]): r for r in (await conn.execute(q)).all()}
    first: date = since.astimezone(CST).date()
    out: list[Day] = []
    for i in range(days):
        name = (first + timedelta(days=i)).isoformat()
        r = found.get(name)
        if r is None:
            out.append(Day(name))
            continue
        out.append(Day(name, int(r[1]), int(r[2]), int(r[3]), int(r[4]), from_nano(int(r[5])),
                       from_nano(int(r[6]))))
    return out


def _request(m: Any) -> Request:
    upstream = f"{m['provider']}/{m['upstream_model']}" if m["provider"] else None
    rid: str = m["request_id"]
    return Request(
        request_id=rid if rid.startswith("req_") else "req_" + rid, created_at=m["created_at"],
        key_id=m["key_id"],
        endpoint=m["endpoint"], model=m["model"], upstream=upstream, status=m["status"],
        error_code=m["error_code"], prompt_tokens=m["prompt_tokens"],
        completion_tokens=m["completion_tokens"], cached_tokens=m["cached_tokens"],
        cost_cny=None if m["cost_nano_cny"] is None else from_nano(m["cost_nano_cny"]),
        openai_cost_cny=from_nano(m["openai_cost_nano_cny"]), latency_ms=m["latency_ms"],
        ttft_ms=m["ttft_ms"], stream=bool(m["stream"]),
        client_disconnected=bool(m["client_disconnected"]),
        usage_estimated=bool(m["usage_estimated"]))


async def one_request(store: Store, request_id: str) -> Request | None:
    bare = request_id.removeprefix("req_")
    q = select(ledger).where(ledger.c.request_id.in_([bare, "req_" + bare]))
    async with store.db.read() as conn:
        row = (await conn.execute(q)).first()
    return None if row is None else _request(row._mapping)


async def last_errors(store: Store, scan: int = 500) -> dict[str, Request]:
    """The latest failed request per provider, among the last ``scan`` failures."""
    c = ledger.c
    q = (select(ledger).where(c.status >= 400, c.provider.is_not(None))
         .order_by(c.created_at.desc(), c.id.desc()).limit(scan))
    out: dict[str, Request] = {}
    async with store.db.read() as conn:
        for r in (await conn.execute(q)).all():
            out.setdefault(r._mapping["provider"], _request(r._mapping))
    return out
