"""Anthropic's model naming rules: which listed Claude reference model a name a client sends stands for.

Apps and Claude Code moving off Claude keep sending Claude's names, so banjia routes them by the
same rule it applies to OpenAI's (:mod:`.openai_names`): by pattern, never by a hand list.

Anthropic names a model in one of two shapes (https://docs.anthropic.com/en/docs/about-claude/models):

* ``claude-{tier}-{major}[-{minor}][-{snapshot}]`` since Claude 4: ``claude-sonnet-4-5-20250929``,
  ``claude-opus-4-1``, ``claude-haiku-5-5``, ``claude-sonnet-4-20250514``;
* ``claude-{major}[-{minor}]-{tier}[-{snapshot}]`` before it: ``claude-3-5-sonnet-20241022``,
  ``claude-3-7-sonnet-latest``, ``claude-3-haiku-20240307``.

The tier (``haiku``, ``sonnet``, ``opus``, and the newer ``fable`` and ``mythos``) is the price class;
the snapshot is a date (``-20250929``) or ``-latest``; Claude Code may add a bracketed context note
(``claude-sonnet-4-5[1m]``). A name resolves to the listed model of its tier whose version is the
newest not above its own (``claude-opus-4-7`` → ``claude-opus-4-5`` when 4.5 is the newest listed
Opus 4), or the oldest listed one of that tier when every listed version is newer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

from banjia.catalog._versions import nearest, strip_snapshots

__all__ = ["parse", "resolve"]

T = TypeVar("T")

TIERS = ("haiku", "sonnet", "opus", "fable", "mythos")
_TIER = "|".join(TIERS)
_NEW = re.compile(rf"^claude-(?P<tier>{_TIER})-(?P<major>\d+)(?:-(?P<minor>\d{{1,2}}))?$")
_OLD = re.compile(rf"^claude-(?P<major>\d+)(?:[-.](?P<minor>\d{{1,2}}))?-(?P<tier>{_TIER})$")
_SNAPSHOT = re.compile(r"-(?:\d{8}|latest|v\d+(?::\d+)?)$")


def parse(name: str) -> tuple[str, float] | None:
    """(tier, version) of a Claude model name, or None for a name of another shape."""
    base = name.strip().lower().split("[", 1)[0]
    base = base.removeprefix("anthropic/").removeprefix("anthropic.")  # gateway-style prefixes
    base = strip_snapshots(base, _SNAPSHOT)
    m = _NEW.match(base) or _OLD.match(base)
    if m is None:
        return None
    return m.group("tier"), float(f"{m.group('major')}.{m.group('minor') or 0}")


def resolve(name: str, listed: Mapping[str, T]) -> T | None:
    """The listed entry ``name`` stands for (``listed``: lower-case Claude ids and aliases → entry),
    or None when ``name`` is no Claude name or its tier has no listed model."""
    key = name.strip().lower()
    if key in listed:
        return listed[key]
    wanted = parse(key)
    if wanted is None:
        return None
    tier, version = wanted
    found = nearest(version, ((got[1], k) for k in listed
                              if (got := parse(k)) is not None and got[0] == tier))
    return None if found is None else listed[found]
