"""The ``routing:`` section and tiers in ``models:``: defaults, validation, presets."""

from __future__ import annotations

import pytest

from banjia.config import parse_config
from banjia.errors import ConfigError
from banjia.routing.presets import PRESETS, default_aliases, preset_aliases
from banjia.runtime import build_runtime
from tests.harness import MASTER_KEY

PROVIDERS = {"a": {"type": "local"}, "b": {"type": "local"}}


def test_routing_defaults() -> None:
    r = parse_config({}).routing
    assert (r.total_timeout, r.retries, r.circuit.failures, r.circuit.cooldown) == (180.0, 1, 5, 30.0)
    assert r.redis_prefix == "banjia:routing:" and r.presets is False


def test_a_tier_of_equals_is_a_list_inside_the_chain() -> None:
    cfg = parse_config({"providers": PROVIDERS, "models": {"m": [["a/x", "b/x"], "a/y"]}})
    assert cfg.models["m"] == [["a/x", "b/x"], "a/y"]


def test_a_bad_entry_inside_a_tier_is_named() -> None:
    with pytest.raises(ConfigError, match=r"models\.m\[0\]\[1\]: no provider named 'zz'"):
        parse_config({"providers": PROVIDERS, "models": {"m": [["a/x", "zz/x"]]}})
    with pytest.raises(ConfigError, match=r"models\.m\[1\]: 'nope' must be 'provider/model'"):
        parse_config({"providers": PROVIDERS, "models": {"m": ["a/x", "nope"]}})
    with pytest.raises(ConfigError, match=r"models\.m\[0\]: the group is empty"):
        parse_config({"providers": PROVIDERS, "models": {"m": [[]]}})


@pytest.mark.parametrize(
    ("routing", "where"),
    [
        ({"circuit": {"failures": 0}}, "routing.circuit.failures"),
        ({"total_timeout": 0}, "routing.total_timeout"),
        ({"retries": -1}, "routing.retries"),
        ({"health_interval": 0}, "routing.health_interval"),
        ({"retry_backoff": 5, "total_timeout": 1}, "routing.retry_backoff"),
        ({"bogus": 1}, "routing.bogus: unknown key"),
    ],
)
def test_bad_routing_values_are_named(routing: dict[str, object], where: str) -> None:
    with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
        parse_config({"routing": routing})


def test_presets_map_openai_names_per_provider_type() -> None:
    aliases = preset_aliases({"qwen": "dashscope", "ds": "deepseek", "mine": "local"})
    assert aliases["gpt-4o"] == [f"qwen/{PRESETS['dashscope']['gpt-4o']}",
                                 f"ds/{PRESETS['deepseek']['gpt-4o']}", "mine/default"]
    assert aliases["o1"][0] == f"qwen/{PRESETS['dashscope']['o1']}"
    assert "ds/" not in " ".join(aliases["text-embedding-3-small"])  # DeepSeek has no embeddings
    assert default_aliases(["deepseek", "local"])["gpt-4o"] == [f"deepseek/{PRESETS['deepseek']['gpt-4o']}",
                                                                "local/default"]


async def test_routing_presets_add_aliases_and_the_models_map_wins() -> None:
    cfg = parse_config({
        "server": {"master_key": MASTER_KEY},
        "store": {"url": "sqlite:///:memory:"},
        "providers": {"ds": {"type": "deepseek", "api_key": "k"}},
        "models": {"gpt-4o": ["ds/deepseek-reasoner"]},
        "routing": {"presets": True},
    })
    from banjia.context import NullAccounting
    from banjia.server.auth import MasterKeyAuth

    rt = await build_runtime(cfg, auth=MasterKeyAuth(MASTER_KEY), accounting=NullAccounting())
    try:
        assert rt.router.resolve("gpt-4o-mini")[0].key == f"ds/{PRESETS['deepseek']['gpt-4o-mini']}"
        assert rt.router.resolve("gpt-4o")[0].key == "ds/deepseek-reasoner"
    finally:
        await rt.aclose()
