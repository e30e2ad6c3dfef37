"""Text the store writes: control characters and lone surrogates never reach the database.

PostgreSQL refuses NUL in any text value and a lone surrogate cannot be encoded as UTF-8, so one
such string from a client (a model name, a key name) would fail the statement carrying it. The
admin edge refuses them in names and notes (400); everything else the store writes is cleaned:
each offending character becomes U+FFFD, which shows an operator that something was there.
"""

from __future__ import annotations

import re

from banjia.errors import bad_request

__all__ = ["clean", "clean_opt", "has_control", "require_clean"]

# C0 controls, DEL, C1 controls, and surrogates (only lone ones can occur in a Python str)
_BAD = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# the same minus tab, line feed and carriage return (allowed in free text such as grant notes)
_BAD_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def has_control(value: str, *, multiline: bool = False) -> bool:
    return (_BAD_IN_TEXT if multiline else _BAD).search(value) is not None


def clean(value: str, *, multiline: bool = False) -> str:
    if value.isascii() and value.isprintable():
        return value  # the common case, without a regex
    return (_BAD_IN_TEXT if multiline else _BAD).sub("\ufffd", value)


def clean_opt(value: str | None, limit: int) -> str | None:
    """``value`` cleaned and cut to a column of ``limit`` characters (None stays None)."""
    return None if value is None else clean(value)[:limit]


def require_clean(name: str, value: str, *, multiline: bool = False) -> None:
    """400 naming the field when ``value`` holds a control character."""
    if has_control(value, multiline=multiline):
        allowed = " (tab and line breaks are allowed)" if multiline else ""
        raise bad_request(f"'{name}' must not contain control characters such as NUL{allowed}.",
                          param=name)
