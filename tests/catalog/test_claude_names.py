"""Claude's model names reach a model on the embedded defaults and carry Anthropic's reference price:
by Anthropic's naming rules (banjia.catalog.claude_names), not a hand list."""

from __future__ import annotations

import pytest

from banjia.catalog import load_catalog
from banjia.catalog.claude_names import parse, resolve
from banjia.routing.presets import default_aliases
from banjia.routing.router import Router


@pytest.mark.parametrize(
    ("name", "tier", "version"),
    [
        ("claude-sonnet-4-5-20250929", "sonnet", 4.5),
        ("claude-3-5-sonnet-20241022", "sonnet", 3.5),
        ("claude-3-7-sonnet-latest", "sonnet", 3.7),
        ("claude-opus-4-1", "opus", 4.1),
        ("claude-sonnet-4-20250514", "sonnet", 4.0),
        ("claude-haiku-4-5[1m]", "haiku", 4.5),  # Claude Code's context note
        ("anthropic/claude-haiku-5-5", "haiku", 5.5),
        ("Claude-Opus-5", "opus", 5.0),
    ],
)
def test_names_parse_in_both_of_anthropics_shapes(name: str, tier: str, version: float) -> None:
    assert parse(name) == (tier, version)


@pytest.mark.parametrize("name", ["gpt-4o", "claude", "claude-2.1", "claude-instant-1.2", "claude-sonnet"])
def test_other_names_are_not_claude_names(name: str) -> None:
    assert parse(name) is None


def test_a_version_takes_the_newest_listed_one_not_above_it() -> None:
    listed = {"claude-opus-4": "o4", "claude-opus-4-5": "o45", "claude-opus-5-5": "o55",
              "claude-haiku-4-5": "h"}
    assert resolve("claude-opus-4-7", listed) == "o45"
    assert resolve("claude-opus-5", listed) == "o45"
    assert resolve("claude-opus-9", listed) == "o55"
    assert resolve("claude-3-opus", listed) == "o4"  # older than every listed one: the oldest
    assert resolve("claude-haiku-3", listed) == "h"
    assert resolve("claude-fable-5-1", listed) is None  # no listed model of that tier


@pytest.mark.parametrize(
    ("name", "reference", "role"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4", "flagship"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5", "small"),
        ("claude-opus-4-1-20250805", "claude-opus-4", "flagship"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku", "small"),
        ("claude-sonnet-5-5", "claude-sonnet-5-5", "flagship"),
    ],
)
def test_claude_names_resolve_to_a_reference_with_a_price(name: str, reference: str, role: str) -> None:
    ref = load_catalog().openai_model(name)
    assert ref is not None and (ref.id, ref.role) == (reference, role)
    assert ref.prices, "a reference model carries a price"


def test_claude_names_route_on_the_embedded_defaults() -> None:
    # the embedded defaults with no vendor key: the local model alone
    router = Router(default_aliases(["local"]), {"local": []}, {"local": "local"})
    for name in ("claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-opus-4-5",
                 "claude-3-7-sonnet-latest", "claude-sonnet-6"):
        assert router.resolve(name), name


def test_the_saving_of_a_messages_request_is_measured_against_anthropics_price() -> None:
    # Sonnet 4.5: 3 USD per million prompt tokens, at the catalog's exchange rate
    c = load_catalog()
    assert c.openai_cost_cny("claude-sonnet-4-5", "messages", 1_000_000, 0) == pytest.approx(3 * c.usd_cny)
