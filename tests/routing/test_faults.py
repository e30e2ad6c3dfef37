"""Every fault an upstream can commit, through a real gateway, seen by the official openai SDK.

Each row states the fault, the chain it happens in, and what the client must see — served by the
fallback, a given status and error code, or a stream that ends with an error event — and how long
it may take at most. The gateway's bound (``routing.total_timeout``) is 1.2 s; provider timeouts are
0.5 s to the first byte and 0.4 s between chunks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from tests.conftest import fake_provider, strict_client
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import Gateway
from tests.routing.conftest import ECHO, FAST, USER, config, metric

BOUND = 1.2  # routing.total_timeout in this gateway


@dataclass(frozen=True)
class Served:
    by: str  # x-banjia-upstream
    at_least: float = 0.0  # seconds the client must have waited (a retry-after honoured)


@dataclass(frozen=True)
class Fails:
    status: int
    code: str | None = None
    retry_after: str | None = None


@dataclass(frozen=True)
class EndsWithError:
    """The stream started, then ended with an error event: no finish_reason, no clean end."""


Outcome = Served | Fails | EndsWithError


@dataclass(frozen=True)
class Case:
    id: str
    chain: list[str]
    outcome: Outcome
    within: float  # seconds the client may wait at most
    stream: bool | None = None  # None: both ways


CASES = [
    Case("503 moves on", ["fake/e503", "fake/echo"], Served("fake/echo"), 1.0),
    Case("503 alone, retried once", ["fake/e503"], Fails(503, "upstream_overloaded"), 1.0),
    Case("500 moves on", ["fake/e500", "fake/echo"], Served("fake/echo"), 1.0),
    Case("500 alone", ["fake/e500"], Fails(502, "upstream_error"), 1.0),
    Case("429 moves on without waiting", ["fake/e429:1", "fake/echo"], Served("fake/echo"), 0.6),
    Case("429 alone honours retry-after", ["fake/throttle:0.5,1,{tag}"],
         Served("fake/throttle:0.5,1,{tag}", at_least=0.5), 1.5),
    Case("429 with a retry-after past the cap", ["fake/e429:30"],
         Fails(429, "rate_limit_exceeded", retry_after="30"), 0.6),
    Case("connection refused moves on", ["dead/any", "fake/echo"], Served("fake/echo"), 1.0),
    Case("connection refused alone", ["dead/any"], Fails(502, "upstream_unreachable"), 1.0),
    Case("accept-then-hang moves on", ["silent/any", "fake/echo"], Served("fake/echo"), 1.2),
    Case("accept-then-hang alone is cut by the bound", ["silent-long/any"],
         Fails(504, "upstream_timeout"), BOUND + 0.5),
    Case("reset before the answer moves on", ["fake/reset", "fake/echo"], Served("fake/echo"), 1.0),
    Case("reset mid-stream", ["fake/cut"], EndsWithError(), 1.0, stream=True),
    Case("malformed SSE before the first byte moves on", ["fake/badsse:0", "fake/echo"],
         Served("fake/echo"), 1.0, stream=True),
    Case("malformed SSE mid-stream", ["fake/badsse:2"], EndsWithError(), 1.0, stream=True),
    Case("malformed JSON moves on", ["fake/badjson", "fake/echo"], Served("fake/echo"), 1.0),
    Case("malformed JSON alone", ["fake/badjson"], Fails(502), 1.0, stream=False),
    Case("error inside HTTP 200 moves on", ["fake/error200", "fake/echo"], Served("fake/echo"), 1.0),
    Case("balance error inside HTTP 200 moves on", ["minimax/minimax-error", "fake/echo"],
         Served("fake/echo"), 1.0, stream=False),
    Case("content filter inside HTTP 200 is the request's fault", ["spark/spark-error", "fake/echo"],
         Fails(400, "content_filter"), 1.0),
    Case("400 from the upstream does not move on", ["fake/e400", "fake/echo"], Fails(400), 1.0),
    Case("slow first byte moves on", ["fake/slow:3", "fake/echo"], Served("fake/echo"), 1.2),
    Case("slow first byte alone", ["fake/slow:3"], Fails(504, "upstream_timeout"), 1.2),
    Case("chunks slower than the idle timeout", ["fake/slowchunks:2"], EndsWithError(), 1.2, stream=True),
    Case("slow chunks within the idle timeout", ["fake/slowchunks:0.05"], Served("fake/slowchunks:0.05"),
         2.0, stream=True),
]


def _params() -> Iterator[Any]:
    for i, case in enumerate(CASES):
        for stream in (False, True) if case.stream is None else (case.stream,):
            yield pytest.param(i, stream, id=f"{case.id} [{'stream' if stream else 'json'}]")


def _alias(i: int, stream: bool) -> str:
    return f"case-{i}-{'s' if stream else 'j'}"


def _fill(s: str, i: int, stream: bool) -> str:
    return s.replace("{tag}", _alias(i, stream))


@pytest.fixture(scope="module")
def gw(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory, silent_port: int,
       closed_port: int) -> Iterator[Gateway]:
    models = {
        _alias(i, stream): [_fill(e, i, stream) for e in CASES[i].chain]
        for i, case in enumerate(CASES)
        for stream in (False, True)
    }
    models["two-silent"] = ["silent-long/a", "silent-long/b"]
    providers = {
        "spark": fake_provider(fake, "spark", timeouts=FAST),
        "minimax": fake_provider(fake, "minimax", timeouts=FAST),
        "dead": {"type": "openai", "base_url": f"http://127.0.0.1:{closed_port}/v1", "api_key": "x",
                 "timeouts": FAST},
        "silent": {"type": "openai", "base_url": f"http://127.0.0.1:{silent_port}/v1", "api_key": "x",
                   "timeouts": FAST},
        # its own timeouts would wait far longer than the gateway's bound
        "silent-long": {"type": "openai", "base_url": f"http://127.0.0.1:{silent_port}/v1", "api_key": "x",
                        "timeouts": {"connect": 5, "first_byte": 30, "idle": 30}},
    }
    # circuits would trip across rows; they have their own tests
    routing = {"total_timeout": BOUND, "circuit": {"failures": 10_000}}
    g = Gateway(config(fake, tmp_path_factory.mktemp("faults"), providers=providers, models=models,
                       routing=routing))
    yield g
    g.stop()


@pytest.mark.parametrize(("i", "stream"), list(_params()))
def test_fault(gw: Gateway, i: int, stream: bool) -> None:
    case = CASES[i]
    client = strict_client(gw, timeout=30)
    model = _alias(i, stream)
    started = time.monotonic()
    outcome = case.outcome
    if isinstance(outcome, Served):
        by = _fill(outcome.by, i, stream)
        if stream:
            sraw = client.chat.completions.with_raw_response.create(model=model, messages=USER, stream=True)
            chunks = list(sraw.parse())
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert chunks[-1].choices[0].finish_reason == "stop"
            upstream = sraw.headers["x-banjia-upstream"]
        else:
            raw = client.chat.completions.with_raw_response.create(model=model, messages=USER)
            text = raw.parse().choices[0].message.content or ""
            upstream = raw.headers["x-banjia-upstream"]
        assert upstream == by
        if by.startswith("fake/slowchunks"):
            assert text == ECHO
        else:
            assert text.startswith("echo: hello")
        assert time.monotonic() - started >= outcome.at_least
    elif isinstance(outcome, Fails):
        with pytest.raises(openai.APIStatusError) as e:
            client.chat.completions.create(model=model, messages=USER, stream=stream)
        assert e.value.status_code == outcome.status, e.value.message
        if outcome.code is not None:
            assert e.value.code == outcome.code
        if outcome.retry_after is not None:
            assert e.value.response.headers["retry-after"] == outcome.retry_after
    else:
        got = []
        with pytest.raises(openai.APIError) as err:
            for c in client.chat.completions.create(model=model, messages=USER, stream=True):
                got.append(c)
        assert not isinstance(err.value, openai.APIConnectionError), "the stream must end with an error event"
        assert got, "the stream should have started before the fault"
        assert all(c.choices[0].finish_reason is None for c in got if c.choices)
    elapsed = time.monotonic() - started
    assert elapsed <= case.within, f"the client waited {elapsed:.2f} s (at most {case.within} s)"


def test_the_bound_holds_when_every_entry_hangs(gw: Gateway, fake: FakeOpenAI) -> None:
    """Two silent entries with 30 s timeouts each: the client has its answer at the bound."""
    client = strict_client(gw, timeout=30)
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as e:
        client.chat.completions.create(model="two-silent", messages=USER)
    assert e.value.status_code == 504
    assert BOUND - 0.1 <= time.monotonic() - started <= BOUND + 0.5


def test_a_lone_transient_failure_is_retried_once_and_no_more(gw: Gateway) -> None:
    attempts = metric(gw, "banjia_upstream_attempts_total", provider="fake", model="e500") or 0
    with pytest.raises(openai.InternalServerError):
        strict_client(gw).chat.completions.create(model="fake/e500", messages=USER)
    assert metric(gw, "banjia_upstream_attempts_total", provider="fake", model="e500") == attempts + 2
    assert (metric(gw, "banjia_retries_total", provider="fake", model="e500") or 0) >= 1
