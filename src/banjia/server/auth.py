"""Bearer-token authentication for the OpenAI routes and the admin routes."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from banjia.context import Authenticator, KeyInfo
from banjia.errors import APIError

__all__ = ["MasterKeyAuth", "authenticate", "require_master"]

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
