"""Argument types shared by the migration commands: a bad value is a usage error (exit 2) that
says what to pass instead, before anything runs."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

__all__ = ["base_url", "provider_type", "provider_types"]


def provider_types() -> list[str]:
    from banjia.adaptors import registry

    return sorted(registry())


def provider_type(value: str) -> str:
    """``--target``: a banjia provider type (``banjia providers`` lists them)."""
    known = provider_types()
    if value not in known:
        raise argparse.ArgumentTypeError(
            f"unknown provider type {value!r}; one of: {', '.join(known)}")
    return value


def base_url(value: str) -> str:
    """``--base-url``: an http(s) URL with a host, such as ``http://127.0.0.1:8000/v1``."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value.strip():
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an http(s) URL; pass one such as http://127.0.0.1:8000/v1")
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} has a port that is not a number") from None
    return value.strip()
