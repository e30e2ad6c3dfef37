"""Bearer-token authentication for the OpenAI routes and the admin routes; ``x-api-key`` (or a
bearer token) for Anthropic's clients."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from banjia.context import Authenticator, KeyInfo
from banjia.errors import APIError

__all__ = ["MasterKeyAuth", "authenticate", "authenticate_anthropic", "require_master"]

_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)


class MasterKeyAuth:
    """Only the master key (no store): compared in constant time."""

    def __init__(self, master_key: str) -> None:
        self._key = master_key.encode()

    async def authenticate(self, token: str) -> KeyInfo | None:
        if hmac.compare_digest(token.encode(), self._key):
            return KeyInfo(id="master", name="master", is_master=True)
        return None


def bearer(request: Request) -> str | None:
    # straight from the ASGI scope: building Starlette's Headers for one lookup costs more
    raw: list[tuple[bytes, bytes]] = request.scope["headers"]
    h = next((v.decode("latin-1") for k, v in raw if k == b"authorization"), None)
    if not h:
        return None
    scheme, _, token = h.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _redact(token: str) -> str:
    return token[:3] + "*" * 4 + token[-4:] if len(token) > 10 else "*" * 4


async def authenticate(request: Request, auth: Authenticator) -> KeyInfo:
    token = bearer(request)
    if token is None:
        raise APIError(401, _NO_KEY, code="invalid_api_key")
    key = await auth.authenticate(token)
    if key is None:
        raise APIError(401, f"Incorrect API key provided: {_redact(token)}.", code="invalid_api_key")
    return key


_NO_ANTHROPIC_KEY = "You didn't provide an API key. Send it in the x-api-key header (or as a bearer token)."


async def authenticate_anthropic(request: Request, auth: Authenticator) -> KeyInfo:
    """The key of an Anthropic client: ``x-api-key`` (Anthropic's SDKs, Claude Code) or a bearer
    token; the errors say so in Anthropic's words (``authentication_error``)."""
    raw: list[tuple[bytes, bytes]] = request.scope["headers"]
    token = next((v.decode("latin-1").strip() for k, v in raw if k == b"x-api-key"), None)
    if not token:
        if bearer(request) is None:
            raise APIError(401, _NO_ANTHROPIC_KEY, type="authentication_error", code="invalid_api_key")
        return await authenticate(request, auth)
    key = await auth.authenticate(token)
    if key is None:
        raise APIError(401, "Invalid x-api-key.", type="authentication_error", code="invalid_api_key")
    return key


async def require_master(request: Request, auth: Authenticator) -> KeyInfo:
    key = await authenticate(request, auth)
    if not key.is_master:
        raise APIError(
            403,
            "This endpoint requires the master key.",
            type="permission_error",
            code="insufficient_permissions",
        )
    return key
