"""Load balancing among equals: tiers in order, equals by weight, standbys last."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from banjia.routing.balance import order
from banjia.routing.router import Route, Router, Target
from tests.conftest import fake_provider, strict_client
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import Gateway
from tests.routing.conftest import FAST, USER, config

A, B, C, D = Target("a", "x"), Target("b", "x"), Target("c", "x"), Target("d", "x")


def test_a_chain_without_equals_keeps_its_order() -> None:
    route = Route.of("m", [[A], [B]])
    assert not route.balanced
    assert order(route, {"a": 1, "b": 100}) == (A, B)


def test_equals_are_drawn_by_weight() -> None:
    route = Route.of("m", [[A, B], [C]])
    firsts = Counter(order(route, {"a": 3, "b": 1})[0] for _ in range(4000))
    assert 0.70 < firsts[A] / 4000 < 0.80
    assert all(order(route, {"a": 3, "b": 1})[2] == C for _ in range(50))  # the next tier stays last


def test_every_equal_is_tried_before_the_next_tier() -> None:
    route = Route.of("m", [[A, B, C], [D]])
    for _ in range(50):
        got = order(route, {"a": 1, "b": 1, "c": 1})
        assert set(got[:3]) == {A, B, C} and got[3] == D


def test_weight_zero_is_a_standby() -> None:
    route = Route.of("m", [[A, B, C]])
    for _ in range(50):
        assert order(route, {"a": 0, "b": 1, "c": 2})[-1] == A


def test_the_router_reads_groups_from_the_models_map() -> None:
    r = Router({"gpt-4o": [["a/x", "b/x"], "c/x"]}, {"a": [], "b": [], "c": []})
    route = r.route("gpt-4o")
    assert route.tiers == ((A, B), (C,))
    assert r.resolve("gpt-4o") == [A, B, C]
    assert r.route("a/anything").targets == (Target("a", "anything"),)


@pytest.fixture(scope="module")
def weighted(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    providers = {
        "heavy": {**fake_provider(fake, timeouts=FAST), "weight": 3},
        "light": {**fake_provider(fake, timeouts=FAST), "weight": 1},
    }
    models = {
        "balanced": [["heavy/echo", "light/echo"]],
        "half-down": [["heavy/e503", "light/echo"], "fake/echo"],
    }
    g = Gateway(config(fake, tmp_path_factory.mktemp("balance"), providers=providers, models=models,
                       routing={"circuit": {"failures": 10_000}, "retries": 0}))
    yield g
    g.stop()


def test_requests_spread_by_weight(weighted: Gateway) -> None:
    client = strict_client(weighted)
    served = Counter(
        client.chat.completions.with_raw_response.create(model="balanced", messages=USER).headers[
            "x-banjia-upstream"
        ]
        for _ in range(40)
    )
    assert set(served) == {"heavy/echo", "light/echo"}
    assert served["heavy/echo"] > served["light/echo"]


def test_a_failing_equal_falls_back_to_the_other_equal_first(weighted: Gateway) -> None:
    client = strict_client(weighted)
    for _ in range(10):
        raw = client.chat.completions.with_raw_response.create(model="half-down", messages=USER)
        assert raw.headers["x-banjia-upstream"] == "light/echo"
