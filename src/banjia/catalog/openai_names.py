"""OpenAI's model naming rules: which listed reference model a name a client sends stands for.

OpenAI names a model ``family[-size][-variant…][-snapshot]``: a family (``gpt-5.2``, ``gpt-4.1``,
``gpt-4o``, ``gpt-4``, ``gpt-3.5-turbo``, ``o3``, ``chatgpt-4o``, ``text-embedding-3``), an optional
size (``mini``, ``nano``, ``pro``, ``turbo``, ``instruct``, ``small``, ``large``), variants that do
not change the price class (``chat``, ``codex``, ``audio``, ``search``, ``deep-research``, ``16k``,
…) and a dated snapshot (``-2024-08-06``, ``-0125``) or ``-latest`` / ``-preview``. A name is
resolved against the catalog's reference list, most specific first:

1. the name itself, or an alias of a listed model;
2. without its snapshot (``gpt-4o-2024-08-06`` → ``gpt-4o``);
3. family + size (``gpt-4o-mini-tts`` → ``gpt-4o-mini``), then the family alone — except that a
   name with a size tries step 4 first, so the size keeps its price class;
4. an unlisted version takes the nearest listed version of the same line (``gpt-N.M``, or
   ``oN``) and size, the newest not above it (``gpt-5.7-mini`` → ``gpt-5.4-mini`` when that is
   the newest listed gpt mini; ``gpt-6`` → the newest listed gpt; ``o5-mini`` → the newest
   listed ``o*-mini``).

So a new dated snapshot or point release needs no catalog change to be routed and priced; the
catalog only lists families and sizes with their prices.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

from banjia.catalog._versions import nearest, strip_snapshots

__all__ = ["resolve"]

T = TypeVar("T")

_SNAPSHOT = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{4}|\d{6}|latest|preview|exp)$")
_FAMILY = re.compile(
    r"^(?:(?P<gpt>gpt-(?P<major>\d+)(?:\.(?P<minor>\d+))?(?P<o>o)?)"
    r"|(?P<oseries>o(?P<omajor>\d+))"
    r"|(?P<fixed>chatgpt-4o|text-embedding-3|text-embedding-ada|davinci|babbage))"
    r"(?=-|$)"
)
_SIZES = ("mini", "nano", "pro", "turbo", "instruct", "small", "large")


def _strip_snapshots(name: str) -> str:
    return strip_snapshots(name, _SNAPSHOT)


def _parts(name: str) -> tuple[str, str | None, str | None]:
    """(name without its snapshot, family, size); family None for a name of another shape."""
    base = _strip_snapshots(name.strip().lower())
    m = _FAMILY.match(base)
    if m is None:
        return base, None, None
    words = [w for w in base[m.end():].split("-") if w]
    return base, m.group(0), next((w for w in words if w in _SIZES), None)


def _line(name: str) -> tuple[str, float, str] | None:
    """(line, version, size) of a versioned family: ``gpt-5.2-mini`` → ("gpt", 5.2, "mini"),
    ``o4-mini`` → ("o", 4, "mini"); None for a name of another shape."""
    base = _strip_snapshots(name.strip().lower())
    m = _FAMILY.match(base)
    if m is None or m.group("fixed") is not None or m.group("o"):
        return None
    words = [w for w in base[m.end():].split("-") if w]
    size = next((w for w in words if w in _SIZES), "")
    if m.group("gpt") is not None:  # one line across majors: gpt-6 falls back to the newest gpt-5
        minor = m.group("minor") or "0"
        return "gpt", float(f"{m.group('major')}.{minor}"), size
    return "o", float(m.group("omajor")), size


def _nearest(name: str, listed: Mapping[str, T]) -> T | None:
    """Step 4: the newest listed version of ``name``'s line and size not above its version (the
    oldest listed one when every listed version is newer)."""
    wanted = _line(name)
    if wanted is None:
        return None
    line, version, size = wanted
    found = nearest(version, ((got[1], k) for k in listed
                              if (got := _line(k)) is not None and got[0] == line and got[2] == size
                              and k == _strip_snapshots(k)))
    return None if found is None else listed[found]


def resolve(name: str, listed: Mapping[str, T]) -> T | None:
    """The listed entry ``name`` stands for (the keys of ``listed`` are lower-case names and
    aliases), or None when ``name`` is not an OpenAI model name of a family the catalog lists."""
    key = name.strip().lower()
    base, family, size = _parts(key)
    for c in (key, base, f"{family}-{size}" if family and size else None):
        if c is not None and c in listed:
            return listed[c]
    if family is None:
        return None
    if size is not None:
        # a size decides the price class: the nearest version of the same size before the family
        return _nearest(base, listed) or listed.get(family) or _nearest(family, listed)
    return listed.get(family) or _nearest(base, listed)
