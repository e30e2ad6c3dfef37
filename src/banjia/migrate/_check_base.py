"""The probe framework behind ``banjia check``: outcomes, the probe registry, error classification.

A probe is one small async function that talks to the endpoint through the official ``openai`` SDK
and either returns a detail (pass) or raises :class:`Failed` / :class:`Unsupported`. SDK exceptions
escaping a probe are classified in one place, :func:`classify`:

- a 400/422 carrying an OpenAI error envelope is the endpoint saying "no" clearly → unsupported;
- a 404 on a probe of a whole endpoint (embeddings, Responses API…) → unsupported;
- no answer within the probe's timeout → timeout: the endpoint is slow or busy, which says
  nothing about the feature (a single local model queues concurrent requests);
- anything else (5xx, 401/403 on a feature, 429, a 4xx without an envelope, a wrong shape, a
  connection error) → fail.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import openai

__all__ = [
    "PROBES",
    "Failed",
    "Outcome",
    "Probe",
    "ProbeContext",
    "RateLimitSeen",
    "Status",
    "Unsupported",
    "classify",
    "ensure",
    "probe",
    "short",
]

Status = Literal["pass", "fail", "unsupported", "timeout"]


@dataclass(frozen=True, slots=True)
class Outcome:
    feature: str
    status: Status
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"feature": self.feature, "status": self.status, "detail": self.detail}


class Failed(Exception):
    """The endpoint answered, but not as an OpenAI client expects."""


class Unsupported(Exception):
    """The endpoint said clearly that it does not offer the feature."""


def ensure(cond: object, message: str) -> None:
    if not cond:
        raise Failed(message)


def short(value: object, limit: int = 120) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class RateLimitSeen:
    url: str
    headers: dict[str, str]

    @property
    def retry_after(self) -> str | None:
        for name in ("retry-after-ms", "retry-after"):
            if name in self.headers:
                return f"{name}: {self.headers[name]}"
        return None


@dataclass
class ProbeContext:
    """What every probe needs: the shared client, the models to use, and what the run observed."""

    client: openai.AsyncOpenAI
    base_url: str
    api_key: str
    model: str
    embedding_model: str
    timeout: float
    # feature name or group name → model, for endpoints that serve some features on other models
    models_for: Mapping[str, str] = field(default_factory=dict)
    rate_limits: list[RateLimitSeen] = field(default_factory=list)
    make_client: Callable[..., openai.AsyncOpenAI] | None = None

    def model_for(self, p: Probe) -> str:
        if p.feature in self.models_for:
            return self.models_for[p.feature]
        if p.group in self.models_for:
            return self.models_for[p.group]
        return self.embedding_model if p.group == "embeddings" else self.model

    def other_client(self, **options: Any) -> openai.AsyncOpenAI:
        """A client like the shared one with some options changed (a bad key, no retries, strict).
        It shares the run's connection pool: do not close it."""
        assert self.make_client is not None
        return self.make_client(**options)


ProbeFn = Callable[[ProbeContext, str], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Probe:
    feature: str
    group: str
    fn: ProbeFn
    summary: str
    # the probe tests a whole endpoint: a 404 means the endpoint does not exist here
    endpoint: bool = False
    # run after every other probe (it reads what the others observed)
    last: bool = False


PROBES: list[Probe] = []


def probe(
    feature: str, group: str, summary: str, *, endpoint: bool = False, last: bool = False
) -> Callable[[ProbeFn], ProbeFn]:
    def register(fn: ProbeFn) -> ProbeFn:
        if any(p.feature == feature for p in PROBES):
            raise ValueError(f"probe {feature!r} is registered twice")
        PROBES.append(Probe(feature, group, fn, summary, endpoint=endpoint, last=last))
        return fn

    return register


# -- classification ------------------------------------------------------------------------------


def error_envelope(body: bytes) -> dict[str, Any] | None:
    """The ``error`` object of an OpenAI error body, or None when the body is not one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    err = data.get("error")
    if isinstance(err, dict) and isinstance(err.get("message"), str) and err["message"]:
        return err
    return None


def _status_detail(status: int, body: bytes) -> tuple[dict[str, Any] | None, str]:
    env = error_envelope(body)
    if env is not None:
        return env, f"{status} {short(env['message'])}"
    text = body.decode("utf-8", "replace").strip()
    return None, f"{status} without an OpenAI error envelope: {short(text or '<empty body>', 80)}"


def classify(feature: str, p: Probe, exc: BaseException, timeout: float) -> Outcome:
    """The outcome for an exception that escaped probe ``p``."""
    import asyncio

    import openai
    import pydantic

    if isinstance(exc, Failed):
        return Outcome(feature, "fail", str(exc))
    if isinstance(exc, Unsupported):
        return Outcome(feature, "unsupported", str(exc))
    if isinstance(exc, TimeoutError | asyncio.TimeoutError | openai.APITimeoutError):
        return Outcome(feature, "timeout", f"no answer within {timeout:g} s: the endpoint is "
                       "slow or busy, which says nothing about the feature (raise --timeout)")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        env, detail = _status_detail(status, exc.response.content)
        if status in (400, 422) and env is not None:
            return Outcome(feature, "unsupported", detail)
        if status in (404, 405) and p.endpoint:
            return Outcome(feature, "unsupported", f"{status}: the endpoint does not exist here")
        if status == 429:
            return Outcome(feature, "fail", f"rate limited: {detail}")
        return Outcome(feature, "fail", detail)
    if isinstance(exc, openai.APIConnectionError):
        return Outcome(feature, "fail", f"connection error: {short(str(exc.__cause__ or exc))}")
    if isinstance(exc, openai.APIError):
        # e.g. an error event inside a stream, or an answer the SDK could not read (strict mode)
        if isinstance(exc.__cause__, pydantic.ValidationError):
            return Outcome(feature, "fail", _shape(exc.__cause__))
        return Outcome(feature, "fail", f"{type(exc).__name__}: {short(exc.message)}")
    if isinstance(exc, pydantic.ValidationError):
        return Outcome(feature, "fail", _shape(exc))
    if isinstance(exc, ValueError | KeyError | TypeError | AttributeError | IndexError):
        return Outcome(feature, "fail", f"unreadable answer: {type(exc).__name__}: {short(str(exc))}")
    raise exc


def _shape(exc: Any) -> str:
    first = exc.errors(include_url=False)[0]
    loc = ".".join(str(x) for x in first["loc"])
    return f"wrong shape: {loc}: {short(first['msg'])} ({exc.error_count()} problem(s))"
