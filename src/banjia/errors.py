"""banjia's exception tree.

    BanjiaError
    ├── ConfigError          the config file or environment is wrong (raised at start-up)
    └── APIError             answered to the client as an OpenAI error envelope
        └── UpstreamError    a provider failed; carries who failed and whether another may succeed

Foreign exceptions (aiohttp, websockets, llama.cpp, SQLAlchemy) are converted to these at the
boundary where they occur and chained with ``from``; nothing else crosses into the server layer.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = [
    "APIError",
    "BanjiaError",
    "ConfigError",
    "UpstreamError",
    "bad_request",
    "not_found",
]


class BanjiaError(Exception):
    """Base of every error banjia raises on purpose."""


class ConfigError(BanjiaError):
    """The configuration is invalid; the message names the offending key."""


class APIError(BanjiaError):
    """An error the client sees as ``{"error": {message, type, param, code}}`` with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def body_bytes(self) -> bytes:
        return orjson.dumps(self.body())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.message!r}, code={self.code!r})"


class UpstreamError(APIError):
    """A provider answered with an error, or could not be reached.

    ``retryable`` says whether the next entry of a fallback chain may succeed where this one
    failed (connection errors, timeouts, 429, 5xx, balance errors); errors caused by the request
    itself (400 for a bad parameter, content filtering) are not retryable.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        provider: str,
        retryable: bool,
        type: str = "upstream_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        disable: bool = False,
    ) -> None:
        super().__init__(status, message, type=type, code=code, param=param, headers=headers)
        self.provider = provider
        self.retryable = retryable
        # auth or balance problems: the provider will keep failing until someone acts
        self.disable = disable


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def not_found(message: str, *, code: str = "model_not_found", param: str | None = "model") -> APIError:
    return APIError(404, message, code=code, param=param)
