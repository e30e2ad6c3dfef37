"""The two steps OpenAI's and Anthropic's naming rules share (:mod:`.openai_names`,
:mod:`.claude_names`): dropping snapshot suffixes, and picking the nearest listed version."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["nearest", "strip_snapshots"]


def strip_snapshots(name: str, snapshot: re.Pattern[str]) -> str:
    """``name`` without its trailing snapshot suffixes (a name may carry several: ``-0613-preview``)."""
    while True:
        shorter = snapshot.sub("", name)
        if shorter == name:
            return name
        name = shorter


def nearest(version: float, listed: Iterable[tuple[float, str]]) -> str | None:
    """The key of the newest listed version not above ``version``, else of the oldest listed one;
    None when nothing is listed."""
    same = sorted(listed)
    if not same:
        return None
    below = [key for v, key in same if v <= version]
    return below[-1] if below else same[0][1]
