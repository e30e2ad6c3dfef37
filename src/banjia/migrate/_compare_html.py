"""The self-contained HTML report: tables, the picks, and two inline SVG plots (cost against quality,
and the latency / time-to-first-token distributions). No scripts, no external assets.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from html import escape

from banjia.migrate._compare_prompts import Prompt
from banjia.migrate._compare_report import (
    SUMMARY_COLUMNS,
    ModelSummary,
    Run,
    notes,
    num,
    percentile,
    summary_row,
)

__all__ = ["FONTS", "box_svg", "place_labels", "render_html", "scatter_svg"]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
# Chinese prompts and answers need a CJK font: the usual ones on macOS, Windows and Linux, named
# before the generic family so a browser does not fall back to a font without the glyphs
FONTS = ('system-ui,-apple-system,"Segoe UI","PingFang SC","Hiragino Sans GB","Microsoft YaHei",'
         '"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",sans-serif')
_CSS = """
body{font:14px/1.45 FONTS;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}
th,td{padding:4px 8px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f6f6f6}
code{background:#f3f3f3;padding:0 3px;border-radius:3px}
pre{white-space:pre-wrap;max-width:60em;margin:0;text-align:left}
details{margin:.4em 0}summary{cursor:pointer}
.muted{color:#777}.plots{display:flex;flex-wrap:wrap;gap:1.5em}
svg text{font:11px FONTS}
""".replace("FONTS", FONTS)


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def _text_width(text: str) -> float:
    """Roughly, at 11 px: wide (CJK) characters take about twice a narrow one."""
    return sum(11.0 if unicodedata.east_asian_width(c) in "WF" else 6.2 for c in text)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(points: Sequence[tuple[float, float, str]], bounds: Box) -> list[
        tuple[float, float, str, str]]:
    """Labels for markers at (x, y): each at the first of a few spots around its marker that
    overlaps no marker, no label placed before it and nothing outside ``bounds``.
    Returns (x, y, text-anchor, text) for each point, in order."""
    markers = [(x - 7, y - 7, x + 7, y + 7) for x, y, _ in points]
    placed: list[Box] = []
    out: list[tuple[float, float, str, str]] = []
    for x, y, text in points:
        w = _text_width(text)
        candidates: list[tuple[float, float, str]] = []
        for dy in (0, -13, 13, -26, 26, -39, 39):
            candidates += [(x + 9, y + 4 + dy, "start"), (x - 9, y + 4 + dy, "end")]
        candidates[2:2] = [(x, y - 10, "middle"), (x, y + 18, "middle")]
        chosen = candidates[0]
        for cx, cy, anchor in candidates:
            x0 = cx if anchor == "start" else cx - w if anchor == "end" else cx - w / 2
            box = (x0, cy - 10, x0 + w, cy + 2)
            inside = bounds[0] <= box[0] and box[2] <= bounds[2] and bounds[1] <= box[1] \
                and box[3] <= bounds[3]
            if inside and not any(_overlaps(box, b) for b in placed + markers):
                chosen = (cx, cy, anchor)
                placed.append(box)
                break
        else:
            x0 = chosen[0] if chosen[2] == "start" else chosen[0] - w
            placed.append((x0, chosen[1] - 10, x0 + w, chosen[1] + 2))
        out.append((chosen[0], chosen[1], chosen[2], text))
    return out


def _ticks(hi: float, n: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``hi``."""
    if hi <= 0:
        return [0.0]
    raw = hi / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [round(i * step, 10) for i in range(math.ceil(hi / step - 1e-9) + 1)]


def scatter_svg(summaries: Sequence[ModelSummary], width: int = 600, height: int = 340) -> str:
    """Quality (y, 0–1) against CNY per 1,000 requests (x). Models whose cost is unknown are hollow
    markers in a narrow band on the right, named in a legend below the plot."""
    left, band, right, top, bottom = 56, 34, 16, 20, 44
    pw, ph = width - left - band - right - 10, height - top - bottom
    rated = [(i, s) for i, s in enumerate(summaries) if s.quality is not None]
    unknown = [(i, s) for i, s in rated if s.cost_per_1k is None]
    legend_h = 18 * ((len(unknown) + 1) // 2) + (6 if unknown else 0)
    xmax: float = max([s.cost_per_1k or 0.0 for _, s in rated] + [0.0]) * 1.15 or 1.0
    ticks = _ticks(xmax)
    xmax = max(xmax, ticks[-1])
    bx = left + pw + 10

    def x(v: float) -> float:
        return left + v / xmax * pw

    def y(q: float) -> float:
        return top + (1 - q) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + legend_h}" role="img" '
        'aria-label="cost against quality">',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#ccc"/>',
        f'<rect x="{bx}" y="{top}" width="{band}" height="{ph}" fill="#f0f0f0"/>',
        f'<text x="{bx + band / 2}" y="{top + ph + 16}" text-anchor="middle">?</text>',
    ]
    for q in (0.0, 0.25, 0.5, 0.75, 1.0):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(q):.1f}" y2="{y(q):.1f}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{left - 6}" y="{y(q) + 4:.1f}" text-anchor="end">{q:g}</text>')
    for t in ticks:
        out.append(f'<text x="{x(t):.1f}" y="{top + ph + 16}" text-anchor="middle">{t:g}</text>')
    out.append(
        f'<text x="{left + pw / 2}" y="{top + ph + 36}" text-anchor="middle">CNY per 1,000 requests '
        "(? = cost unknown)</text>"
        f'<text transform="translate(14 {top + ph / 2}) rotate(-90)" text-anchor="middle">quality</text>'
    )
    # models on the same spot share one label
    spots: dict[tuple[float, float], list[str]] = {}
    for i, s in rated:
        q = s.quality or 0.0
        tip = f"{s.model}: quality {q:.3f}, " + (
            "cost unknown" if s.cost_per_1k is None else f"CNY {s.cost_per_1k:.4g} / 1k requests"
        )
        if s.cost_per_1k is None:
            out.append(
                f'<circle cx="{bx + band / 2:.1f}" cy="{y(q):.1f}" r="6" fill="none" stroke="{_color(i)}" '
                f'stroke-width="2"><title>{escape(tip)}</title></circle>'
            )
            continue
        cx, cy = round(x(s.cost_per_1k), 1), round(y(q), 1)
        spots.setdefault((cx, cy), []).append(s.model)
        out.append(
            f'<circle cx="{cx}" cy="{cy}" r="6" fill="{_color(i)}" fill-opacity=".85">'
            f"<title>{escape(tip)}</title></circle>"
        )
    labels = place_labels([(cx, cy, ", ".join(names)) for (cx, cy), names in spots.items()],
                          (2.0, 2.0, float(width - 2), float(top + ph + 2)))
    for lx, ly, anchor, text in labels:
        out.append(f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}">{escape(text)}</text>')
    if unknown:
        out.append(f'<text x="{left}" y="{height + 8}" fill="#555">cost unknown:</text>')
    for k, (i, s) in enumerate(unknown):
        lx, ly = left + 90 + (k % 2) * ((width - left - 90) / 2), height + 8 + 18 * (k // 2)
        out.append(
            f'<circle cx="{lx + 6:.1f}" cy="{ly - 4}" r="5" fill="none" stroke="{_color(i)}" '
            f'stroke-width="2"/><text x="{lx + 16:.1f}" y="{ly}">{escape(s.model)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def box_svg(title: str, series: Sequence[tuple[str, Sequence[float]]], width: int = 560) -> str:
    """Horizontal box plots (whiskers min–max, box p25–p75, median line) with every sample as a dot."""
    longest = max([len(name) for name, _ in series] + [8])
    row, left, right, top, bottom = 34, min(280, 24 + int(longest * 6.2)), 24, 26, 36
    height = top + bottom + row * max(1, len(series))
    pw = width - left - right
    hi: float = max([max(v) for _, v in series if v] + [0.0]) * 1.1 or 1.0
    ticks = _ticks(hi)
    hi = max(hi, ticks[-1])

    def x(v: float) -> float:
        return left + v / hi * pw

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    for t in ticks:
        out.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{height - bottom}" stroke="#eee"/>'
            f'<text x="{x(t):.1f}" y="{height - bottom + 14}" text-anchor="middle">{t:g}</text>'
        )
    out.append(f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle">seconds</text>')
    for i, (name, values) in enumerate(series):
        cy = top + row * i + row / 2
        out.append(f'<text x="{left - 8}" y="{cy + 4:.1f}" text-anchor="end">{escape(name)}</text>')
        if not values:
            out.append(f'<text x="{left + 4}" y="{cy + 4:.1f}" fill="#999">no successful request</text>')
            continue
        c = _color(i)
        q = [percentile(values, p) or 0.0 for p in (0.0, 0.25, 0.5, 0.75, 1.0)]
        out.append(
            f'<line x1="{x(q[0]):.1f}" x2="{x(q[4]):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="{c}"/>'
            f'<rect x="{x(q[1]):.1f}" y="{cy - 9:.1f}" width="{max(1.0, x(q[3]) - x(q[1])):.1f}" height="18" '
            f'fill="{c}" fill-opacity=".18" stroke="{c}"/>'
            f'<line x1="{x(q[2]):.1f}" x2="{x(q[2]):.1f}" y1="{cy - 9:.1f}" y2="{cy + 9:.1f}" stroke="{c}" '
            f'stroke-width="2"><title>median {q[2]:.3f} s</title></line>'
        )
        for j, v in enumerate(values):
            jitter = ((j * 7) % 11 - 5) * 1.2
            out.append(f'<circle cx="{x(v):.1f}" cy="{cy + jitter:.1f}" r="2" fill="{c}" fill-opacity=".6"/>')
    out.append("</svg>")
    return "".join(out)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _md_inline(text: str) -> str:
    """The notes are written for Markdown: turn their `code` spans into <code>."""
    parts = escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _prompt_details(run: Run, prompts: Sequence[Prompt]) -> str:
    by_key = {(s.prompt_id, s.model): s for s in run.samples}
    out = []
    for p in prompts:
        rows = []
        for m in run.models:
            s = by_key.get((p.id, m))
            if s is None:
                continue
            answer = s.text if s.ok else f"error: {s.error}"
            rows.append(
                [
                    escape(m),
                    num(s.quality),
                    num(s.similarity),
                    "–" if s.exact is None else ("yes" if s.exact else "no"),
                    "–" if s.matched is None else ("yes" if s.matched else "no"),
                    num(s.judge),
                    num(s.latency_s),
                    num(s.ttft_s),
                    f"<pre>{escape(answer[:2000])}</pre>",
                ]
            )
        ref = f"<p><b>reference</b></p><pre>{escape(p.reference)}</pre>" if p.reference else ""
        match = f"<p><b>match</b> <code>{escape(p.match)}</code></p>" if p.match else ""
        table = _table(
            [
                "model",
                "quality",
                "similarity",
                "exact",
                "match",
                "judge",
                "latency (s)",
                "TTFT (s)",
                "answer",
            ],
            rows,
        )
        out.append(
            f"<details><summary><code>{escape(p.id)}</code> {escape(p.question[:120])}</summary>"
            f"<pre>{escape(p.question)}</pre>{ref}{match}{table}</details>"
        )
    return "".join(out)


def render_html(run: Run, prompts: Sequence[Prompt]) -> str:
    picks = "".join(
        f"<li><b>{escape(p.label)}</b>: "
        + (f"<code>{escape(p.model)}</code> — {escape(p.why)}" if p.model else f"none — {escape(p.why)}")
        + "</li>"
        for p in run.picks
    )
    rows = [[escape(c) for c in summary_row(s)] for s in run.summaries]
    lat = [(s.model, s.latencies) for s in run.summaries]
    ttft = [(s.model, s.ttfts) for s in run.summaries]
    rated = any(s.quality is not None for s in run.summaries)
    scatter = (
        scatter_svg(run.summaries)
        if rated
        else '<p class="muted">No quality scores: give prompts a reference or a match, or pass --judge.</p>'
    )
    note_items = "".join(f"<li>{_md_inline(n)}</li>" for n in notes(run))
    baseline = f" Baseline: <code>{escape(run.baseline)}</code>." if run.baseline else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>banjia compare — {run.prompts} prompts × {len(run.models)} models</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>banjia compare — {run.prompts} prompts × {len(run.models)} models</h1>"
        f'<p class="muted">Endpoint <code>{escape(run.endpoint)}</code>, generated {escape(run.generated)}.'
        f"{baseline}</p>"
        f"<h2>Best replacement per budget</h2><ul>{picks}</ul>"
        f"<h2>Models</h2>{_table(SUMMARY_COLUMNS, rows)}"
        '<p class="muted">Quality is the mean per prompt of the scores it has: regex match (1/0), embedding '
        "similarity to the reference, and the judge's pairwise score; a failed request scores 0.</p>"
        f'<h2>Plots</h2><div class="plots"><div><b>Cost against quality</b><br>{scatter}</div>'
        f"<div>{box_svg('Latency (whole answer)', lat)}<br>{box_svg('Time to first token', ttft)}</div></div>"
        + (f"<h2>Notes</h2><ul>{note_items}</ul>" if note_items else "")
        + f"<h2>Prompts</h2>{_prompt_details(run, prompts)}"
        "</body></html>\n"
    )
