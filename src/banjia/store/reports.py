"""Usage reports from the ledger: tokens, cost, the OpenAI-equivalent cost and the saving.

The shape (``GET /admin/usage`` and ``banjia usage --format json``)::

    {"by": "key", "since": "2025-01-01T00:00:00Z" | null,
     "rows": [{"group": ..., "requests": n, "prompt_tokens": n, "completion_tokens": n,
               "total_tokens": n, "cost_cny": x, "openai_cost_cny": x, "saving_cny": x,
               "saving_pct": x, "cached_tokens": n, "unpriced_requests": n}],
     "total": {... the same fields without "group"}}

``unpriced_requests`` counts requests to models the catalog has no price for: their cost is
counted as 0, so the saving is overstated by their actual cost.

:func:`recent_requests` lists the latest ledger rows themselves (``GET /admin/requests``, the
console's logs page): the ids, the outcome, tokens, cost and timings — never prompts or answers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import case, func, select

from banjia.context import REQUEST_ID_PREFIX
from banjia.errors import bad_request
from banjia.store._engine import Database
from banjia.store._text import require_clean
from banjia.store.schema import from_nano, ledger

__all__ = [
    "GROUPS",
    "MAX_SINCE_DAYS",
    "REQUESTS_LIMIT",
    "format_table",
    "parse_since",
    "recent_requests",
    "usage_report",
]

GROUPS: dict[str, Any] = {"key": ledger.c.key_id, "model": ledger.c.model,
                          "provider": ledger.c.provider}
Group = Literal["key", "model", "provider"]

_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_SECONDS = {"m": 60, "h": 3600, "d": 86_400, "w": 604_800}
MAX_SINCE_DAYS = 36_500  # a relative ``since`` reaches back at most a hundred years
_SINCE_RANGE = f"a span of at most {MAX_SINCE_DAYS}d, or a date-time in the years 1 to 9999"
REQUESTS_LIMIT = 1000  # rows one ``recent_requests`` call returns at most


def parse_since(value: str | None) -> datetime | None:
    """An ISO date or date-time (UTC unless it says otherwise), or a span back from now such as
    ``30m``, ``24h``, ``7d``, ``2w``."""
    if value is None or value == "":
        return None
    m = _RELATIVE.match(value.strip())
    if m:
        digits = m.group(1)
        seconds = int(digits) * _SECONDS[m.group(2)] if len(digits) <= 12 else None
        if seconds is None or seconds > MAX_SINCE_DAYS * 86_400:
            raise bad_request(f"'since' is out of range: {_SINCE_RANGE}.", param="since")
        return datetime.now(UTC) - timedelta(seconds=seconds)
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as e:
        raise bad_request(f"'since' must be an ISO 8601 date or date-time (or e.g. 7d), "
                          f"not {value!r}.", param="since") from e
    try:
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    except OverflowError as e:  # a time zone pushes 0001-01-01 or 9999-12-31 past the calendar
        raise bad_request(f"'since' is out of range: {_SINCE_RANGE}.", param="since") from e


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat().replace("+00:00", "Z")


def _figures(requests: int, prompt: int, completion: int, cached: int, cost: int, openai: int,
             unpriced: int) -> dict[str, Any]:
    saving = openai - cost  # nano-CNY: exact
    return {
        "requests": requests,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cost_cny": from_nano(cost),
        "openai_cost_cny": from_nano(openai),
        "saving_cny": from_nano(saving),
        "saving_pct": round(100 * saving / openai, 2) if openai else 0.0,
        "cached_tokens": cached,
        "unpriced_requests": unpriced,
    }


async def usage_report(db: Database, *, since: datetime | None = None,
                       by: str = "key") -> dict[str, Any]:
    if by not in GROUPS:
        raise bad_request("'by' must be one of key, model, provider.", param="by")
    group = GROUPS[by]
    c = ledger.c
    q = select(
        group, func.count(), func.coalesce(func.sum(c.prompt_tokens), 0),
        func.coalesce(func.sum(c.completion_tokens), 0),
        func.coalesce(func.sum(c.cached_tokens), 0),
        func.coalesce(func.sum(c.cost_nano_cny), 0),
        func.coalesce(func.sum(c.openai_cost_nano_cny), 0),
        func.coalesce(func.sum(case((c.cost_nano_cny.is_(None), 1), else_=0)), 0),
    ).group_by(group)
    if since is not None:
        q = q.where(c.created_at >= since)
    async with db.read() as conn:
        result = (await conn.execute(q)).all()
    rows: list[dict[str, Any]] = []
    sums = [0] * 7
    for r in result:
        numbers = [int(v) for v in r[1:]]
        requests, prompt, completion, cached, cost, openai, unpriced = numbers
        rows.append({"group": r[0], **_figures(requests, prompt, completion, cached, cost,
                                                openai, unpriced)})
        sums = [a + b for a, b in zip(sums, numbers, strict=True)]
    rows.sort(key=lambda row: (row["group"] is None, str(row["group"] or "")))
    return {"by": by, "since": _iso(since), "rows": rows, "total": _figures(*sums)}


def format_table(report: dict[str, Any]) -> str:
    """The report as a plain-text table (``banjia usage``)."""
    head = [report["by"], "requests", "prompt", "completion", "total", "cost CNY", "OpenAI CNY",
            "saving CNY", "saving %"]

    def line(label: str, f: dict[str, Any]) -> list[str]:
        return [label, f"{f['requests']:,}", f"{f['prompt_tokens']:,}",
                f"{f['completion_tokens']:,}", f"{f['total_tokens']:,}", f"{f['cost_cny']:.4f}",
                f"{f['openai_cost_cny']:.4f}", f"{f['saving_cny']:.4f}", f"{f['saving_pct']:.1f}"]

    body = [line("-" if r["group"] is None else str(r["group"]), r) for r in report["rows"]]
    total = line("total", report["total"])
    widths = [max(len(row[i]) for row in [head, *body, total]) for i in range(len(head))]

    def fmt(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    rule = "  ".join("-" * w for w in widths)
    since = f"since {report['since']}" if report["since"] else "all time"
    out = [f"usage by {report['by']}, {since}", fmt(head), rule, *map(fmt, body), rule, fmt(total)]
    unpriced = report["total"]["unpriced_requests"]
    if unpriced:
        out.append(f"{unpriced} requests had no catalog price (counted as 0 CNY).")
    return "\n".join(out)


def _bounded_int(name: str, value: object, low: int, high: int) -> int | None:
    if value is None or value == "":
        return None
    try:
        n = int(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
    except ValueError:
        n = None
    if n is None or not low <= n <= high:
        raise bad_request(f"'{name}' must be a whole number between {low} and {high}.", param=name)
    return n


async def recent_requests(db: Database, *, limit: object = 50, status: object = None,
                          key_id: str | None = None,
                          model: str | None = None) -> list[dict[str, Any]]:
    """The latest ledger rows, newest first, optionally only those of one status, key or model.

    ``limit`` (1–:data:`REQUESTS_LIMIT`, default 50) and ``status`` (100–599) may be given as
    query-string text; anything else is a 400 naming the parameter."""
    n = _bounded_int("limit", limit, 1, REQUESTS_LIMIT)
    code = _bounded_int("status", status, 100, 599)
    c = ledger.c
    q = select(c.request_id, c.created_at, c.key_id, c.endpoint, c.model, c.provider,
               c.upstream_model, c.status, c.error_code, c.prompt_tokens, c.completion_tokens,
               c.cached_tokens, c.usage_estimated, c.cost_nano_cny, c.latency_ms, c.ttft_ms,
               c.stream, c.client_disconnected)
    if code is not None:
        q = q.where(c.status == code)
    for name, column, value in (("key_id", c.key_id, key_id), ("model", c.model, model)):
        if value is None or value == "":
            continue
        if not isinstance(value, str) or len(value) > 200:
            raise bad_request(f"'{name}' must be a string of at most 200 characters.", param=name)
        require_clean(name, value)
        q = q.where(column == value)
    q = q.order_by(c.created_at.desc(), c.id.desc()).limit(50 if n is None else n)
    async with db.read() as conn:
        result = (await conn.execute(q)).all()
    return [_request_row(r._mapping) for r in result]


def _request_row(m: Any) -> dict[str, Any]:
    cost = m["cost_nano_cny"]
    return {
        "request_id": REQUEST_ID_PREFIX + m["request_id"],  # as the client saw it
        "created_at": m["created_at"].isoformat(),  # UTC, with its "+00:00" offset
        "key_id": m["key_id"],
        "endpoint": m["endpoint"],
        "model": m["model"],
        "upstream": None if m["provider"] is None else f"{m['provider']}/{m['upstream_model']}",
        "status": m["status"],
        "error_code": m["error_code"],
        "prompt_tokens": m["prompt_tokens"],
        "completion_tokens": m["completion_tokens"],
        "cached_tokens": m["cached_tokens"],
        "usage_estimated": bool(m["usage_estimated"]),
        "cost_cny": from_nano(cost),  # 0 when the catalog has no price ("priced": false)
        "priced": cost is not None,
        "latency_ms": None if m["latency_ms"] is None else round(m["latency_ms"], 1),
        "ttft_ms": None if m["ttft_ms"] is None else round(m["ttft_ms"], 1),
        "stream": bool(m["stream"]),
        "client_disconnected": bool(m["client_disconnected"]),
    }
