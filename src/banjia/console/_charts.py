"""ECharts options, built on the server: pages carry them as JSON and console.js draws them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["COLORS", "bars"]

# the saving is green, what was spent teal, OpenAI's price grey, errors red
COLORS = {"cost": "#0f766e", "openai": "#98a2b3", "saving": "#16a34a", "prompt": "#2e90fa",
          "completion": "#7a5af8", "requests": "#0f766e", "errors": "#d92d20"}


def bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float | int]]],
    *,
    stack: Sequence[str] = (),
    lines: Sequence[str] = (),
    money: bool = False,
) -> dict[str, Any]:
    """A category chart: ``series`` is (key, legend name, values); keys in ``stack`` share one
    stacked bar, keys in ``lines`` are drawn as lines."""
    out: list[dict[str, Any]] = []
    for key, name, values in series:
        s: dict[str, Any] = {
            "id": key,
            "name": name,
            "type": "line" if key in lines else "bar",
            "data": [round(v, 6) if isinstance(v, float) else v for v in values],
            "itemStyle": {"color": COLORS.get(key, "#667085")},
        }
        if key in stack:
            s["stack"] = "total"
        if key in lines:
            s["showSymbol"] = len(values) <= 14
            s["symbolSize"] = 6
        out.append(s)
    axis: dict[str, Any] = {"type": "value", "minInterval": 1}
    if money:
        axis = {"type": "value", "name": "CNY"}
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "type": "scroll"},
        "grid": {"left": 8, "right": 12, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": list(labels), "axisLabel": {"hideOverlap": True}},
        "yAxis": axis,
        "series": out,
    }
