"""What a literal becomes when an app moves onto banjia; shared by every language's rewriter.

Every rule is a fixed point (its output never matches its input), which is what makes a second
``banjia rewrite`` produce no diff.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

from banjia.migrate._scan_rules import openai_urls

__all__ = [
    "BASE_URL_VAR",
    "DEFAULT_BASE_URL",
    "ENV_RENAMES",
    "KEY_VAR",
    "Rules",
    "gateway_root",
    "gateway_url",
]

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
BASE_URL_VAR = "OPENAI_BASE_URL"
KEY_VAR = "OPENAI_API_KEY"

# The variables the openai>=1 SDKs read are OPENAI_BASE_URL and OPENAI_API_KEY; the legacy and
# Azure names are renamed to them so an unmodified `OpenAI()` finds the gateway.
ENV_RENAMES: dict[str, str] = {
    "OPENAI_API_BASE": BASE_URL_VAR,
    "AZURE_OPENAI_ENDPOINT": BASE_URL_VAR,
    "AZURE_OPENAI_API_KEY": KEY_VAR,
    "AZURE_OPENAI_KEY": KEY_VAR,
}

# Azure names GPT-3.5 deployments without the dot; banjia aliases OpenAI's own spelling.
_AZURE_MODEL = re.compile(r"gpt-35-turbo(-[\w.-]+)?")
_AZURE_DEPLOYMENT_PATH = re.compile(r"/openai/deployments/[^/]+")


def gateway_url(url: str, base: str) -> str | None:
    """The gateway URL that replaces an OpenAI or Azure OpenAI URL, or None to leave it.

    ``https://api.openai.com/v1/chat/completions`` keeps its path under the gateway's ``/v1``;
    an Azure URL loses the deployment segment and the ``api-version`` parameter, which banjia
    does not need. A host alone (``https://api.openai.com``) becomes the gateway's root, because
    the app appends ``/v1/…`` itself (else ``/v1/v1/…``). WebSocket URLs (the Realtime API)
    are left alone: banjia does not serve them.
    """
    if not openai_urls(url) or openai_urls(url)[0] != url:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return None
    path = parts.path
    if (parts.hostname or "").endswith(".openai.azure.com"):
        path = _AZURE_DEPLOYMENT_PATH.sub("", path, count=1)
        for prefix in ("/openai/v1", "/openai"):
            if path == prefix or path.startswith(prefix + "/"):
                path = path[len(prefix):]
                break
    elif path in ("", "/"):
        return gateway_root(base) + path
    elif path == "/v1" or path.startswith("/v1/"):
        path = path[3:]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if k != "api-version"])
    new = base.rstrip("/") + path
    if query:
        new += "?" + query
    if parts.fragment:
        new += "#" + parts.fragment
    return new


def gateway_root(base: str) -> str:
    """The gateway's origin: its base URL without the ``/v1`` every OpenAI path starts with."""
    base = base.rstrip("/")
    return base[:-3] if base.endswith("/v1") else base


@dataclass(frozen=True)
class Rules:
    """The options of one rewrite run. ``renames``, ``add_base_url`` and ``set_values`` come
    from what the project reads (:mod:`banjia.migrate._project`); the defaults suit a project
    whose code is not at hand (deployment files only)."""

    base_url: str = DEFAULT_BASE_URL
    model_map: dict[str, str] = field(default_factory=dict)
    renames: Mapping[str, str] = field(default_factory=lambda: dict(ENV_RENAMES))
    add_base_url: bool = True  # env files gain OPENAI_BASE_URL beside OPENAI_API_KEY
    set_values: Mapping[str, str] = field(default_factory=dict)  # the app's own settings

    def model(self, text: str) -> str | None:
        """The model name a literal becomes, or None to leave it."""
        if text in self.model_map:
            new = self.model_map[text]
            return new if new != text else None
        if _AZURE_MODEL.fullmatch(text):
            return text.replace("gpt-35-turbo", "gpt-3.5-turbo", 1)
        return None

    def literal(self, text: str) -> str | None:
        """What a whole string literal becomes (a URL, a variable name or a model), or None."""
        stripped = text.strip()
        if stripped != text or not text:
            return None
        if (url := gateway_url(text, self.base_url)) is not None:
            return url if url != text else None
        if text in self.renames:
            return self.renames[text]
        return self.model(text)

    def url_prefix(self, text: str) -> str | None:
        """For the first piece of an f-string or template: its leading OpenAI URL, moved."""
        m = re.match(r"(?:https?)://[^\s'\"`<>\\{}$]+", text, re.IGNORECASE)
        if m is None:
            return None
        new = gateway_url(m.group(0), self.base_url)
        if new is None or new == m.group(0):
            return None
        return new + text[m.end():]
