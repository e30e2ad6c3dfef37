"""banjia's exception tree.

    BanjiaError
    ├── ConfigError          the config file or environment is wrong (raised at start-up)
    └── APIError             answered to the client as an OpenAI error envelope
        └── UpstreamError    a provider failed; carries who failed and what routing does next (its
                             ``action``: an :class:`Action`)

An error has two faces: ``status``/``type``/``code`` are for the client (OpenAI's envelope), and an
upstream error's ``action`` is for the routing layer, which never reads the client's codes. The
action is set where the error is made, by a named constructor (:meth:`UpstreamError.timeout`,
:meth:`~UpstreamError.unreachable`, :meth:`~UpstreamError.broken`, :meth:`~UpstreamError.unsupported`,
:meth:`~UpstreamError.account`) or by an adaptor's error table.

Foreign exceptions (the upstream HTTP client's, websockets, llama.cpp, SQLAlchemy) are converted to
these at the boundary where they occur and chained with ``from``; nothing else crosses into the
server layer.
"""

from __future__ import annotations

import enum
from typing import Any

import orjson

__all__ = [
    "APIError",
    "Action",
    "BanjiaError",
    "ConfigError",
    "UpstreamError",
    "bad_request",
    "internal_error",
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


class Action(enum.Enum):
    """What the routing layer does after an attempt failed with an :class:`UpstreamError`.

    FAIL     the request itself is at fault (a bad parameter, content filtering): every entry would
             refuse it, so the client gets the error at once; the upstream's health is untouched
    SKIP     this entry cannot serve this request (a feature it lacks, a shorter context window, a
             model it does not have): move on; says nothing about the entry's health
    NEXT     the upstream failed, and trying it again would likely cost as much again (a timeout):
             move on and count a failure against its circuit, without retrying it
    RETRY    the upstream failed transiently (connection error, 429, 5xx, an error inside a 200
             body): move on, count a failure, and retry the entry later as ``routing.retries`` allows
    DISABLE  the provider's account is unusable (credentials, balance): move on, and take the
             provider out of rotation until a health probe sees it answer
    """

    FAIL = "fail"
    SKIP = "skip"
    NEXT = "next"
    RETRY = "retry"
    DISABLE = "disable"


class UpstreamError(APIError):
    """A provider answered with an error, could not be reached, or cannot serve the request.

    ``action`` tells the routing layer what to do (see :class:`Action`); ``status``, ``type`` and
    ``code`` are only what the client sees. Made by the named constructors below, or by an
    adaptor's error table (:meth:`banjia.adaptors.base.Adaptor.make_error`).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        provider: str,
        action: Action | None = None,
        type: str = "upstream_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        retryable: bool = False,
        disable: bool = False,
    ) -> None:
        """``retryable``/``disable`` are the older spelling of ``action`` (RETRY, DISABLE, else
        FAIL), kept so that code written before it still works; ``action`` wins when given."""
        super().__init__(status, message, type=type, code=code, param=param, headers=headers)
        self.provider = provider
        if action is None:
            action = Action.DISABLE if disable else Action.RETRY if retryable else Action.FAIL
        self.action = action

    @property
    def retryable(self) -> bool:
        """Whether another entry of a fallback chain may succeed where this one failed."""
        return self.action is not Action.FAIL

    @property
    def disable(self) -> bool:
        """The provider will keep failing until someone acts (credentials, balance)."""
        return self.action is Action.DISABLE

    # -- named constructors: each sets the action its failure calls for ----------------------
    @classmethod
    def timeout(cls, provider: str, what: str) -> UpstreamError:
        """No answer in time (504 ``upstream_timeout``): not worth another wait on this entry."""
        return cls(504, f"Provider '{provider}': {what}", provider=provider, action=Action.NEXT,
                   code="upstream_timeout")

    @classmethod
    def unreachable(cls, provider: str, why: str) -> UpstreamError:
        """The connection failed or closed before an answer (502 ``upstream_unreachable``)."""
        return cls(502, f"Provider '{provider}' {why}", provider=provider, action=Action.RETRY,
                   code="upstream_unreachable")

    @classmethod
    def broken(
        cls, provider: str, what: str, *, status: int = 502, code: str = "upstream_error"
    ) -> UpstreamError:
        """An answer that broke off or could not be read (502 ``upstream_error``): transient."""
        return cls(status, f"Provider '{provider}': {what}", provider=provider, action=Action.RETRY,
                   code=code)

    @classmethod
    def unsupported(
        cls,
        provider: str,
        message: str,
        *,
        status: int = 400,
        code: str = "unsupported_feature",
        param: str | None = None,
    ) -> UpstreamError:
        """This entry cannot serve this request (a feature, an endpoint, a model, a context
        window); another entry may. The client sees it only if none can."""
        return cls(status, message, provider=provider, action=Action.SKIP, type="invalid_request_error",
                   code=code, param=param)

    @classmethod
    def account(
        cls,
        provider: str,
        message: str,
        *,
        status: int = 401,
        code: str = "invalid_api_key",
        type: str = "authentication_error",
    ) -> UpstreamError:
        """The provider's account is unusable (credentials, balance): it is disabled."""
        return cls(status, message, provider=provider, action=Action.DISABLE, type=type, code=code)


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def not_found(message: str, *, code: str = "model_not_found", param: str | None = "model") -> APIError:
    return APIError(404, message, code=code, param=param)


def internal_error(message: str) -> APIError:
    """banjia's own fault (a bug): 500 ``internal_error``. Not an UpstreamError, so routing never
    counts it against a provider."""
    return APIError(500, message, type="server_error", code="internal_error")
