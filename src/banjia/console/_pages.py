"""The read-only pages: overview, models, usage (and its CSV), logs."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.responses import Response

from banjia.catalog import ModelInfo, load_catalog, preset_reasons
from banjia.console._charts import bars
from banjia.console._queries import Day, daily, day_start, one_request
from banjia.console._web import Page, page, query
from banjia.errors import APIError
from banjia.store import Store

__all__ = ["logs", "models", "one_log", "overview", "usage", "usage_csv"]

_PERIOD_DAYS = {"today": 1, "7d": 7, "30d": 30, "all": 366}
_GROUPS = ("key", "model", "provider", "day")
_LOG_LIMIT = 200
_SCAN = 1000  # rows read to find the latest failures
_CODES = ("200", "400", "401", "403", "404", "408", "413", "429", "499", "500", "502", "503", "504")


@dataclass(frozen=True, slots=True)
class Window:
    requests: int
    errors: int
    tokens: int
    cost: float
    openai: float

    @property
    def saving(self) -> float:
        return self.openai - self.cost

    @property
    def saving_pct(self) -> float:
        return 100 * self.saving / self.openai if self.openai else 0.0

    @property
    def error_rate(self) -> float:
        return 100 * self.errors / self.requests if self.requests else 0.0


def _window(days: Sequence[Day]) -> Window:
    return Window(sum(d.requests for d in days), sum(d.errors for d in days),
                  sum(d.total_tokens for d in days), sum(d.cost_cny for d in days),
                  sum(d.openai_cost_cny for d in days))


def _day_charts(p: Page, days: Sequence[Day]) -> dict[str, Any]:
    t = p.t
    labels = [d.day[5:] for d in days]  # MM-DD
    return {
        "requests": bars(labels, [("requests", t("requests"), [d.requests for d in days]),
                                  ("errors", t("errors"), [d.errors for d in days])],
                         lines=["errors"]),
        "tokens": bars(labels, [("prompt", t("prompt_tokens"), [d.prompt_tokens for d in days]),
                                ("completion", t("completion_tokens"),
                                 [d.completion_tokens for d in days])],
                       stack=["prompt", "completion"]),
        "cny": bars(labels, [("cost", t("spent_cny"), [d.cost_cny for d in days]),
                             ("openai", t("openai_cny"), [d.openai_cost_cny for d in days]),
                             ("saving", t("saving"), [d.saving_cny for d in days])], money=True),
    }


async def _flushed(p: Page) -> Store | None:
    store: Store | None = p.rt.store
    if store is not None:
        await store.flush()  # figures include the requests that ended a moment ago
    return store


@page
async def overview(p: Page) -> Response:
    store = await _flushed(p)
    if store is None:
        return p.render("overview.html", title="overview", store=False)
    days = await daily(store, 30)
    windows = [("today", _window(days[-1:])), ("7d", _window(days[-7:])), ("30d", _window(days))]
    return p.render("overview.html", title="overview", store=True, windows=windows,
                    charts=_day_charts(p, days))


@page
async def models(p: Page) -> Response:
    rt = p.rt
    config = rt.config
    disabled = rt.routing.disabled if rt.routing is not None else {}
    aliases = []
    for name, route in rt.router.routes.items():
        tiers = [[{"key": t.key, "disabled": t.provider in disabled} for t in tier] for tier in route.tiers]
        aliases.append({"name": name, "tiers": tiers,
                        "source": "config" if name in config.models else "preset"})
    presets = []
    if config.routing.presets:
        reasons = preset_reasons()
        for provider, pc in config.providers.items():
            for openai_name, why in reasons.get(pc.type, {}).items():
                presets.append({"openai": openai_name, "provider": provider, "model": why.model,
                                "reason": why.reason, "active": openai_name not in config.models})
    catalog = load_catalog()
    by_type: dict[str, list[str]] = {}
    for provider, pc in config.providers.items():
        by_type.setdefault(pc.type, []).append(provider)
    vendors = []
    for vtype, providers in by_type.items():
        vendor = catalog.vendors.get(vtype)
        if vendor is None:
            continue
        vendors.append({"type": vtype, "providers": providers,
                        "models": [_catalog_row(m) for m in vendor.models]})
    return p.render("models.html", title="models", aliases=aliases, presets=presets,
                    presets_on=config.routing.presets, catalog=vendors)


def _catalog_row(m: ModelInfo) -> dict[str, Any]:
    return {"id": m.id, "caps": " ".join(sorted(c for c in m.capabilities if c != "chat")),
            "context": m.context_window, "input": m.input_cny, "output": m.output_cny,
            "cached": m.cached_input_cny, "date": m.price_date, "retired": m.retired,
            "gone": m.retired_on(), "successor": m.successor}


def _since(period: str) -> datetime | None:
    return None if period == "all" else day_start(_PERIOD_DAYS[period] - 1)


async def _usage_rows(p: Page, store: Store, by: str,
                      period: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows in the shape of ``GET /admin/usage`` plus a ``label``; by day from the ledger."""
    if by == "day":
        days = await daily(store, _PERIOD_DAYS[period])
        if period == "all":
            while days and not days[0].requests:
                days.pop(0)
        rows = [{"group": d.day, "label": d.day, **_day_figures(d)} for d in days]
        total = _day_figures(Day("", *[sum(getattr(d, f) for d in days) for f in
                                      ("requests", "errors", "prompt_tokens", "completion_tokens",
                                       "cost_cny", "openai_cost_cny")]))
        return rows, total
    report = await store.usage(since=_since(period), by=by)  # what GET /admin/usage answers
    names = {}
    if by == "key":
        names = {k.id: k.name for k in await store.keys.all()}
    rows = []
    for r in report["rows"]:
        group = r["group"]
        label = f"{names[group]} ({group})" if group in names else (group or "—")
        rows.append({**r, "label": label})
    return rows, report["total"]


def _day_figures(d: Day) -> dict[str, Any]:
    return {"requests": d.requests, "prompt_tokens": d.prompt_tokens,
            "completion_tokens": d.completion_tokens, "total_tokens": d.total_tokens,
            "cost_cny": round(d.cost_cny, 9), "openai_cost_cny": round(d.openai_cost_cny, 9),
            "saving_cny": d.saving_cny,
            "saving_pct": round(100 * d.saving_cny / d.openai_cost_cny, 2) if d.openai_cost_cny else 0.0,
            "unpriced_requests": 0}


def _usage_charts(p: Page, rows: list[dict[str, Any]], by: str) -> dict[str, Any]:
    t = p.t
    labels = [r["group"] if by == "day" else str(r["label"]) for r in rows]
    return {
        "tokens": bars(labels, [("prompt", t("prompt_tokens"), [r["prompt_tokens"] for r in rows]),
                                ("completion", t("completion_tokens"),
                                 [r["completion_tokens"] for r in rows])],
                       stack=["prompt", "completion"]),
        "cny": bars(labels, [("cost", t("spent_cny"), [r["cost_cny"] for r in rows]),
                             ("openai", t("openai_cny"), [r["openai_cost_cny"] for r in rows]),
                             ("saving", t("saving"), [r["saving_cny"] for r in rows])], money=True),
    }


@page
async def usage(p: Page) -> Response:
    by = query(p.request, "by", dict.fromkeys(_GROUPS), "model")
    period = query(p.request, "period", _PERIOD_DAYS, "30d")
    store = await _flushed(p)
    if store is None:
        return p.render("usage.html", title="usage", store=False, by=by, period=period)
    rows, total = await _usage_rows(p, store, by, period)
    charts = _usage_charts(p, rows, by)  # every day in the chart; the table lists busy days, latest first
    if by == "day":
        rows = [r for r in reversed(rows) if r["requests"]]
    return p.render("usage.html", title="usage", store=True, by=by, period=period, rows=rows,
                    total=total, charts=charts)


_CSV_FIELDS = ("group", "requests", "prompt_tokens", "completion_tokens", "total_tokens",
               "cost_cny", "openai_cost_cny", "saving_cny", "saving_pct")


def _csv_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):  # plain decimals, never 3.8e-05
        return f"{v:.9f}".rstrip("0").rstrip(".") or "0"
    return v


@page
async def usage_csv(p: Page) -> Response:
    by = query(p.request, "by", dict.fromkeys(_GROUPS), "model")
    period = query(p.request, "period", _PERIOD_DAYS, "30d")
    store = await _flushed(p)
    rows = (await _usage_rows(p, store, by, period))[0] if store is not None else []
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([by if f == "group" else f for f in _CSV_FIELDS] + (["name"] if by == "key" else []))
    for r in rows:
        line = [_csv_value(r[f]) for f in _CSV_FIELDS]
        if by == "key":
            line.append(str(r["label"]).rsplit(" (", 1)[0] if r["group"] else "")
        w.writerow(line)
    name = f"banjia-usage-{by}-{period}.csv"
    # a BOM so that spreadsheet programs read the Chinese names as UTF-8
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"'})


@page
async def logs(p: Page) -> Response:
    store: Store | None = p.rt.store
    status = query(p.request, "status")
    key = query(p.request, "key")
    model = query(p.request, "model")
    if store is None:
        return p.render("logs.html", title="logs", store=False)
    error = ""
    try:
        # what GET /admin/requests answers; "error" is every status from 400 up
        rows = await store.requests(limit=_SCAN if status == "error" else _LOG_LIMIT,
                                    status=None if status in ("", "error") else status,
                                    key_id=key or None, model=model or None)
    except APIError as e:
        rows, error = [], e.message
    if status == "error":
        rows = [r for r in rows if r["status"] >= 400][:_LOG_LIMIT]
    keys = await store.keys.all()
    return p.render("logs.html", title="logs", store=True, rows=rows, keys=keys, error=error,
                    key_names={k.id: k.name for k in keys}, status_filter=status, key=key,
                    model=model, models=sorted(p.rt.router.routes), codes=_CODES)


@page
async def one_log(p: Page) -> Response:
    store = await _flushed(p)
    rid = str(p.request.path_params["rid"])[:80]
    found = await one_request(store, rid) if store is not None else None
    if found is None:
        return p.render("error.html", status=404, title="error_title", message_key="no_such_request")
    name = None
    if found.key_id:
        record = await store.keys.get(found.key_id) if store is not None else None
        name = record.name if record is not None else None
    return p.render("log.html", title="request", r=found, key_name=name)
