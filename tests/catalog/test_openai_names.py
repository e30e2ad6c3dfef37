"""OpenAI's naming rules: every name a client may send resolves to a reference model (its price
and its preset role), not through a hand list of names."""

from __future__ import annotations

import pytest

from banjia.catalog import load_catalog


def resolved(name: str) -> str | None:
    m = load_catalog().openai_model(name)
    return m.id if m is not None else None


@pytest.mark.parametrize(("name", "reference"), [
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ("gpt-3.5-turbo-0125", "gpt-3.5-turbo"),
    ("gpt-4-turbo-2024-04-09", "gpt-4-turbo"),
    ("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"),
    ("o1-2024-12-17", "o1"),
    ("o3-mini-2025-01-31", "o3-mini"),
    ("gpt-4o-2025-03-01", "gpt-4o"),  # a snapshot the catalog has never heard of
])
def test_a_dated_snapshot_is_its_model(name: str, reference: str) -> None:
    assert resolved(name) == reference


@pytest.mark.parametrize(("name", "reference"), [
    ("o1-preview", "o1"),
    ("gpt-4-turbo-preview", "gpt-4-turbo"),
    ("gpt-5-chat-latest", "gpt-5"),
    ("chatgpt-4o-latest", "chatgpt-4o-latest"),
])
def test_latest_and_preview_markers_are_snapshots(name: str, reference: str) -> None:
    assert resolved(name) == reference


@pytest.mark.parametrize(("name", "reference"), [
    ("gpt-4o-audio-preview", "gpt-4o"),
    ("gpt-4o-mini-tts", "gpt-4o-mini"),
    ("gpt-3.5-turbo-16k", "gpt-3.5-turbo"),
    ("o3-deep-research", "o3"),
    ("o4-mini-deep-research-2025-06-26", "o4-mini"),
    ("gpt-5-codex", "gpt-5"),
])
def test_variants_keep_their_family_and_size(name: str, reference: str) -> None:
    assert resolved(name) == reference


@pytest.mark.parametrize(("name", "reference"), [
    ("gpt-5.3", "gpt-5.2"),  # the newest listed version not above it
    ("gpt-5.1-codex-mini", "gpt-5-mini"),  # its size keeps its price class
    ("gpt-5.3-pro", "gpt-5.2-pro"),
    ("gpt-5.9-nano", "gpt-5.4-nano"),
    ("gpt-5.6-luna", "gpt-5.5"),  # the openai-agents SDK's default model (0.24)
    ("gpt-6", "gpt-5.5"),
    ("gpt-4.5-preview", "gpt-4.1"),
    ("o5-mini", "o4-mini"),
])
def test_an_unlisted_version_takes_the_nearest_listed_one(name: str, reference: str) -> None:
    assert resolved(name) == reference


@pytest.mark.parametrize("name", [
    "gpt-5.2", "gpt-5.4-mini", "o1", "o3", "o4-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano",
    "chatgpt-4o-latest", "gpt-3.5-turbo-instruct", "text-embedding-3-small",
    "text-embedding-3-large", "text-embedding-ada-002", "davinci-002",
])
def test_listed_names_are_themselves(name: str) -> None:
    assert resolved(name) == name


@pytest.mark.parametrize("name", ["GPT-4o", " gpt-4o "])
def test_names_compare_without_case_or_surrounding_space(name: str) -> None:
    assert resolved(name) == "gpt-4o"


@pytest.mark.parametrize("name", ["qwen-plus", "deepseek-v4-flash", "glm-4-0520", "gpt-oss-120b", "claude-3"])
def test_other_names_are_not_openai_models(name: str) -> None:
    assert resolved(name) is None


def test_every_resolved_name_carries_a_price_and_a_role() -> None:
    for name in ("gpt-5.1-codex-mini", "gpt-4o-2024-08-06", "o3", "text-embedding-3-large"):
        m = load_catalog().openai_model(name)
        assert m is not None and m.price is not None and m.role
