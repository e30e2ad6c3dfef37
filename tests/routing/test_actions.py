"""Routing decides by an error's typed action, set where the error is made; the code is the
client's alone."""

from __future__ import annotations

import pytest

from banjia.adaptors.base import ErrorRule, map_status
from banjia.errors import Action, APIError, UpstreamError
from banjia.routing.retry import RetryPolicy, classify

POLICY = RetryPolicy(retries=1, backoff=0.25, max_retry_after=5.0)


@pytest.mark.parametrize(
    ("err", "action", "status", "code"),
    [
        (UpstreamError.timeout("p", "no answer"), Action.NEXT, 504, "upstream_timeout"),
        (UpstreamError.unreachable("p", "could not be reached"), Action.RETRY, 502, "upstream_unreachable"),
        (UpstreamError.broken("p", "cut off"), Action.RETRY, 502, "upstream_error"),
        (UpstreamError.unsupported("p", "no tools"), Action.SKIP, 400, "unsupported_feature"),
        (UpstreamError.account("p", "bad key"), Action.DISABLE, 401, "invalid_api_key"),
    ],
    ids=["timeout", "unreachable", "broken", "unsupported", "account"],
)
def test_each_named_constructor_sets_its_action(err: UpstreamError, action: Action, status: int,
                                                code: str) -> None:
    assert (classify(err), err.status, err.code, err.provider) == (action, status, code, "p")


def test_an_error_that_is_not_an_upstream_one_is_the_requests_fault() -> None:
    assert classify(APIError(400, "bad", code="model_not_found")) is Action.FAIL


def test_the_code_a_client_sees_does_not_steer_routing() -> None:
    # a timeout's code on an error whose maker says "retry": retried
    retry = UpstreamError(504, "slow", provider="p", action=Action.RETRY, code="upstream_timeout")
    assert POLICY.delay(retry, 0) == 0.25
    # a capability code on an error whose maker says "fail": the client gets it at once
    fail = UpstreamError(404, "gone", provider="p", action=Action.FAIL, code="model_not_found")
    assert classify(fail) is Action.FAIL


@pytest.mark.parametrize(
    ("rule", "action"),
    [
        (map_status(400), Action.FAIL),
        (map_status(401), Action.DISABLE),
        (map_status(402), Action.DISABLE),
        (map_status(404), Action.SKIP),
        (map_status(408), Action.NEXT),
        (map_status(429), Action.RETRY),
        (map_status(500), Action.RETRY),
        (map_status(503), Action.RETRY),
        (map_status(504), Action.NEXT),
        (ErrorRule(400, "context_length_exceeded", retryable=False), Action.SKIP),
        (ErrorRule(400, "content_filter"), Action.FAIL),
        (ErrorRule(200, "upstream_error", retryable=True), Action.RETRY),
    ],
)
def test_an_error_table_row_means_one_action(rule: ErrorRule, action: Action) -> None:
    assert rule.action() is action


def test_the_older_flags_still_read_as_before() -> None:
    assert UpstreamError(502, "x", provider="p", retryable=True).action is Action.RETRY
    assert UpstreamError(400, "x", provider="p", retryable=False).action is Action.FAIL
    legacy = UpstreamError(401, "x", provider="p", retryable=False, disable=True)
    assert legacy.action is Action.DISABLE and legacy.disable and legacy.retryable
