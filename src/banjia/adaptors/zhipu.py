"""Zhipu GLM v4 (``zhipu``), with ``auth: bearer`` (default) or ``auth: jwt``.

The v4 API speaks OpenAI's wire format, so the generic adaptor serves it from the ``zhipu`` vendor
entry (clamps, ``sensitive``/``network_error`` finish reasons, numeric error codes). This module
only adds the second way to authenticate: instead of the ``<id>.<secret>`` key itself, a short-lived
HS256 token signed with the secret (providers.md §5). The token's header is
``{"alg": "HS256", "sign_type": "SIGN", "typ": "JWT"}``, its claims ``api_key`` (the id), ``exp`` and
``timestamp`` in **milliseconds**; it is sent as ``Authorization: Bearer <token>`` like the current
official SDK (``zhipuai`` 2.x ``auth_headers``; 1.x and one-api send it without ``Bearer``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import orjson

from banjia.adaptors import ProviderSpec, http_provider
from banjia.adaptors.base import Fetch
from banjia.adaptors.openai_compat import OpenAICompatAdaptor
from banjia.adaptors.vendors import VENDORS, Vendor
from banjia.errors import UpstreamError

if TYPE_CHECKING:
    from banjia.config import ProviderConfig
    from banjia.providers import Provider
    from banjia.transport import Transport

__all__ = ["SPEC", "ZhipuAdaptor", "sign_token"]

VENDOR: Vendor = VENDORS["zhipu"]
# Our choice (the SDK signs for 3 minutes and caches 2.5; one-api caches 24 hours): long enough to
# sign rarely, short enough that a leaked header is soon useless; renewed a minute before expiry.
TOKEN_TTL = 1800.0
RENEW_BEFORE = 60.0


def sign_token(api_key: str, now: float, ttl: float = TOKEN_TTL) -> str:
    """The HS256 token for an ``<id>.<secret>`` key, issued at ``now`` (seconds since the epoch)."""
    key_id, _, secret = api_key.partition(".")
    # byte for byte what the official SDK's PyJWT call produces (it adds "typ" and sorts the keys)
    header = {"alg": "HS256", "sign_type": "SIGN", "typ": "JWT"}
    claims = {"api_key": key_id, "exp": round((now + ttl) * 1000), "timestamp": round(now * 1000)}
    signing_input = _b64(orjson.dumps(header)) + "." + _b64(orjson.dumps(claims))
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class ZhipuAdaptor(OpenAICompatAdaptor):
    def __init__(
        self,
        provider: str,
        fetch: Fetch,
        *,
        base_url: str,
        api_key: str | None,
        jwt: bool,
        endpoints: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(provider, fetch, VENDOR, base_url=base_url, api_key=api_key, endpoints=endpoints)
        self.jwt = jwt
        self.clock = clock
        self._token: str | None = None
        self._renew_at = 0.0

    def token(self) -> str:
        """The cached JWT, signed anew when it is about to expire."""
        now = self.clock()
        if self._token is None or now >= self._renew_at:
            key = self.api_key or ""
            key_id, dot, secret = key.partition(".")
            if not (dot and key_id and secret):
                raise UpstreamError.account(
                    self.provider,
                    f"Provider '{self.provider}' rejected banjia's credentials: with auth: jwt the "
                    "api_key must be Zhipu's '<id>.<secret>' key",
                )
            self._token = sign_token(key, now)
            self._renew_at = now + TOKEN_TTL - RENEW_BEFORE
        return self._token

    def headers(self) -> dict[str, str]:
        h = super().headers()
        if self.jwt:
            h["Authorization"] = f"Bearer {self.token()}"
        return h


def _build(name: str, cfg: ProviderConfig, transport: Transport) -> Provider:
    return http_provider(
        name,
        cfg,
        transport,
        lambda fetch, base: ZhipuAdaptor(
            name, fetch, base_url=base, api_key=cfg.api_key, jwt=cfg.auth == "jwt", endpoints=cfg.endpoints
        ),
    )


SPEC = ProviderSpec.of("zhipu", _build)
