"""What one code file tells about how the app reaches OpenAI, beyond scan's findings.

* **Base-URL settings**: the environment variable or config key the app takes its OpenAI base
  URL from (``OPENAI_API_BASE_URL``, ``BASE_URL``, ``open_ai_api_base``, ``customOpenAiApiUrl``),
  found where a client, a request URL or a default OpenAI URL meets a setting read; and whether
  the app appends ``/v1`` itself (then the setting wants the gateway's root, not ``…/v1``).
* **Implicit readers**: SDK clients built without a base URL, which read ``OPENAI_BASE_URL``.
* **AI SDK providers** built without ``baseURL``: old ``@ai-sdk/openai`` ignores the variable.
* **Key-format checks** (``/^sk-[A-Za-z0-9]{48}$/``) that a banjia key may fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "BASE_NAME",
    "FileFacts",
    "KeyCheck",
    "SettingUse",
    "is_base_name",
    "openai_default",
]

Source = Literal["env", "config"]

# names that hold a base URL (`OPENAI_API_BASE_URL`, `open_ai_api_base`, `customOpenAiApiUrl`),
# not a key, a model or a proxy for something else
BASE_NAME = re.compile(r"(?i)(base|url|host|endpoint|api_?root)")
_NOT_BASE = re.compile(r"(?i)(key|token|model|secret|version|org|deployment|timeout|proxy_?host)")
_OPENAI_HOST = re.compile(r"^(?:https?://)?api\.openai\.com(/[^\s'\"`]*)?$", re.IGNORECASE)


def is_base_name(name: str) -> bool:
    return BASE_NAME.search(name) is not None and _NOT_BASE.search(name) is None


def openai_default(text: str) -> bool | None:
    """For an OpenAI URL (or bare ``api.openai.com``) used as a default: whether it is the host
    alone (the app appends ``/v1``); None when the text is no such URL."""
    m = _OPENAI_HOST.match(text.strip())
    if m is None:
        return None
    return (m.group(1) or "").rstrip("/") == ""


@dataclass(frozen=True)
class SettingUse:
    """A setting the app reads its OpenAI base URL from, at one place in its code."""

    name: str
    source: Source
    line: int
    host_only: bool | None  # None: the code does not tell
    how: str  # what the code does with it, for the report
    role: str = "base"  # "base": the base URL; "key": the API key


@dataclass(frozen=True)
class KeyCheck:
    line: int
    pattern: str  # a regular expression, or `prefix:sk-` for a startswith check


@dataclass
class FileFacts:
    settings: list[SettingUse] = field(default_factory=list)
    implicit: list[tuple[int, str]] = field(default_factory=list)  # (line, client) reading env
    module_client: list[int] = field(default_factory=list)  # openai<1 / module-client calls
    module_base: list[int] = field(default_factory=list)  # `openai.api_base = …` lines
    ai_sdk: list[tuple[int, str]] = field(default_factory=list)  # providers without baseURL
    key_checks: list[KeyCheck] = field(default_factory=list)
    env_reads: set[str] = field(default_factory=set)


def appended_host_only(appended: str) -> bool | None:
    """What the text a URL appends to a setting says: ``/v1/…`` after it means the setting is a
    host alone; an API path without ``/v1`` means the setting ends in ``/v1``."""
    path = appended.lstrip("/")
    if not appended:
        return None
    if path == "v1" or path.startswith("v1/"):
        return True
    if path.startswith(("chat/", "completions", "embeddings", "images/", "audio/",
                        "moderations", "responses", "models")):
        return False
    return None
