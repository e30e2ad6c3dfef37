"""``routing.retries`` is a count: an entry that fails transiently is tried again up to that many
times, after a back-off that doubles (or the upstream's ``retry-after``), never past
``routing.total_timeout``."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from banjia.config import RoutingConfig
from banjia.errors import Action, UpstreamError
from banjia.routing.retry import RetryPolicy
from tests.conftest import strict_client
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import Gateway
from tests.routing.conftest import USER, CountingUpstream, counting_gateway

POLICY = RetryPolicy(retries=3, backoff=0.25, max_retry_after=5.0)


def _overloaded(headers: dict[str, str] | None = None) -> UpstreamError:
    e = UpstreamError.broken("p", "overloaded", status=503, code="upstream_overloaded")
    e.headers.update(headers or {})
    return e


def test_the_policy_comes_from_the_routing_config() -> None:
    r = RoutingConfig(retries=4, retry_backoff=0.5, max_retry_after=2.0)
    assert RetryPolicy.of(r) == RetryPolicy(retries=4, backoff=0.5, max_retry_after=2.0)


def test_an_entry_is_retried_up_to_retries_times_with_a_doubling_back_off() -> None:
    delays = [POLICY.delay(_overloaded(), retried) for retried in range(5)]
    assert delays == [0.25, 0.5, 1.0, None, None]


def test_zero_retries_means_none() -> None:
    assert RetryPolicy(retries=0, backoff=0.25, max_retry_after=5.0).delay(_overloaded(), 0) is None


def test_retry_after_is_honoured_up_to_its_cap() -> None:
    assert POLICY.delay(_overloaded({"retry-after": "2"}), 1) == 2.0
    assert POLICY.delay(_overloaded({"retry-after": "30"}), 0) is None


@pytest.mark.parametrize("action", [Action.NEXT, Action.SKIP, Action.DISABLE, Action.FAIL])
def test_only_a_retry_action_is_retried(action: Action) -> None:
    e = UpstreamError(503, "x", provider="p", action=action, code="upstream_overloaded")
    assert POLICY.delay(e, 0) is None


@pytest.fixture(scope="module")
def gw(fake: FakeOpenAI, upstream: CountingUpstream,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from counting_gateway(fake, upstream, tmp_path_factory, "retries",
                         retries=3, retry_backoff=0.01, total_timeout=5.0)


def test_a_failing_entry_is_sent_one_plus_retries_times(gw: Gateway, upstream: CountingUpstream) -> None:
    with pytest.raises(openai.APIStatusError) as e:
        strict_client(gw).chat.completions.create(model="up/e503-count", messages=USER)
    assert e.value.status_code == 503
    assert upstream.received["e503-count"] == 4  # routing.retries: 3


@pytest.fixture(scope="module")
def bounded(fake: FakeOpenAI, upstream: CountingUpstream,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    # back-offs of 0.15, 0.3, 0.6 s…: only two retries start within the 1 s bound
    yield from counting_gateway(fake, upstream, tmp_path_factory, "bounded",
                         retries=10, retry_backoff=0.15, total_timeout=1.0)


def test_retries_stop_at_the_total_timeout(bounded: Gateway, upstream: CountingUpstream) -> None:
    with pytest.raises(openai.APIStatusError) as e:
        strict_client(bounded, timeout=10).chat.completions.create(model="up/e503-bounded", messages=USER)
    assert e.value.status_code == 503
    assert 2 <= upstream.received["e503-bounded"] <= 3
