"""Usage reports from the ledger: tokens, cost, the OpenAI-equivalent cost and the saving.

The shape (``GET /admin/usage`` and ``banjia usage --format json``)::

    {"by": "key", "since": "2025-01-01T00:00:00Z" | null,
     "rows": [{"group": ..., "requests": n, "prompt_tokens": n, "completion_tokens": n,
               "total_tokens": n, "cost_cny": x, "openai_cost_cny": x, "saving_cny": x,
               "saving_pct": x, "cached_tokens": n, "unpriced_requests": n}],
     "total": {... the same fields without "group"}}

``unpriced_requests`` counts requests to models the catalog has no price for: their cost is
counted as 0, so the saving is overstated by their actual cost.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import case, func, select

from banjia.errors import bad_request
from banjia.store._engine import Database
from banjia.store.schema import from_nano, ledger

__all__ = ["GROUPS", "format_table", "parse_since", "usage_report"]

GROUPS: dict[str, Any] = {"key": ledger.c.key_id, "model": ledger.c.model,
                          "provider": ledger.c.provider}
Group = Literal["key", "model", "provider"]

_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str | None) -> datetime | None:
    """An ISO date or date-time (UTC unless it says otherwise), or a span back from now such as
    ``30m``, ``24h``, ``7d``, ``2w``."""
    if value is None or value == "":
        return None
    m = _RELATIVE.match(value.strip())
    if m:
        return datetime.now(UTC) - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as e:
        raise bad_request(f"'since' must be an ISO 8601 date or date-time (or e.g. 7d), "
                          f"not {value!r}.", param="since") from e
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


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
