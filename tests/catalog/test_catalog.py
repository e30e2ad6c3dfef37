"""The model catalog: coverage of every provider type, the presets, price arithmetic, savings
against OpenAI, validation of the data file, and the ``banjia models`` / ``providers`` output."""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

import pytest
import yaml
from rich.console import Console

from banjia.adaptors import registry
from banjia.catalog import (
    CatalogError,
    catalog_models,
    load_catalog,
    model_info,
    openai_cost_cny,
    parse_catalog,
    preset_reasons,
    price_cny,
)
from banjia.catalog.render import models_json, providers_json, render_models, render_providers
from banjia.routing.presets import PRESETS

# interface.md, "Provider types and their credential fields"
DOCUMENTED_TYPES = {
    "openai", "deepseek", "moonshot", "siliconflow", "yi", "baichuan", "stepfun", "zhinao",
    "dashscope", "qianfan", "hunyuan", "spark", "minimax", "ark", "zhipu", "dashscope-native",
    "qianfan-v1", "hunyuan-tc3", "spark-ws", "minimax-pro", "local",
}


def printed(render: Any, *args: Any, **kwargs: Any) -> str:
    out = io.StringIO()
    render(Console(file=out, width=250, color_system=None), *args, **kwargs)
    return out.getvalue()


# -- coverage -----------------------------------------------------------------------------------


@pytest.mark.parametrize("provider_type", sorted(registry()))
def test_every_registered_provider_type_has_catalog_models(provider_type: str) -> None:
    assert catalog_models(provider_type)


@pytest.mark.parametrize("provider_type", sorted(DOCUMENTED_TYPES))
def test_every_documented_provider_type_has_catalog_models(provider_type: str) -> None:
    assert catalog_models(provider_type)


def test_the_catalog_names_no_undocumented_provider_type() -> None:
    assert set(load_catalog().vendors) <= DOCUMENTED_TYPES


def test_the_openai_type_lists_the_openai_reference_models() -> None:
    assert catalog_models("openai") == list(load_catalog().openai)


def test_openai_models_are_priced_in_cny_at_the_reference_rate() -> None:
    info = model_info("openai", "gpt-4o-mini")
    assert info is not None
    assert (info.input_cny, info.output_cny) == pytest.approx((0.15 * 7.2, 0.60 * 7.2))


def test_catalog_models_lists_chat_then_embedding_models_in_file_order() -> None:
    ids = catalog_models("dashscope")
    assert ids[0] == "qwen-max"
    assert ids[-3:] == ["text-embedding-v1", "text-embedding-v2", "text-embedding-v3"]


def test_catalog_models_of_an_unknown_type_is_empty() -> None:
    assert catalog_models("no-such-vendor") == []


def test_a_same_as_type_shares_its_base_types_models() -> None:
    assert catalog_models("dashscope-native") == catalog_models("dashscope")


def test_a_same_as_type_reports_itself_as_the_provider_type() -> None:
    info = model_info("hunyuan-tc3", "hunyuan-turbo")
    assert info is not None and info.provider_type == "hunyuan-tc3"


def test_only_narrows_a_same_as_list_to_the_models_with_a_v1_path() -> None:
    v1 = catalog_models("qianfan-v1")
    assert "ernie-4.0-8k" in v1 and "deepseek-v3" not in v1
    assert set(v1) < set(catalog_models("qianfan"))


def test_spark_models_are_named_by_their_domains() -> None:
    expected = {"lite", "generalv3", "pro-128k", "generalv3.5", "max-32k", "4.0Ultra"}
    assert set(catalog_models("spark")) == expected
    assert set(catalog_models("spark-ws")) == expected


def test_the_local_default_model_is_free_and_serves_chat_and_embeddings() -> None:
    info = model_info("local", "default")
    assert info is not None
    assert (info.input_cny, info.output_cny) == (0, 0)
    assert info.is_chat and info.is_embedding


def test_embedding_models_are_listed_for_the_vendors_that_have_them() -> None:
    for vendor, model in [("dashscope", "text-embedding-v3"), ("zhipu", "embedding-3"),
                          ("siliconflow", "BAAI/bge-m3"), ("qianfan", "embedding-v1"),
                          ("hunyuan", "hunyuan-embedding")]:
        info = model_info(vendor, model)
        assert info is not None and info.is_embedding, (vendor, model)


# -- presets ------------------------------------------------------------------------------------

PRESET_TARGETS = [(v, name, model) for v, m in PRESETS.items() for name, model in m.items()]


@pytest.mark.parametrize(("vendor", "openai_name", "model"), PRESET_TARGETS)
def test_every_preset_target_is_in_the_catalog_for_its_vendor(
    vendor: str, openai_name: str, model: str
) -> None:
    info = model_info(vendor, model)
    assert info is not None, f"{vendor}: {openai_name} → {model} is not in the catalog"


@pytest.mark.parametrize(("vendor", "openai_name", "model"), PRESET_TARGETS)
def test_every_preset_target_serves_its_openai_models_endpoint(
    vendor: str, openai_name: str, model: str
) -> None:
    info = model_info(vendor, model)
    assert info is not None
    assert info.is_embedding == openai_name.startswith("text-embedding")


def test_the_catalog_justifies_exactly_the_presets_in_presets_py() -> None:
    justified = {v: {name: r.model for name, r in reasons.items()}
                 for v, reasons in preset_reasons().items()}
    assert justified == PRESETS


def test_every_preset_reason_is_written_out() -> None:
    for reasons in preset_reasons().values():
        for r in reasons.values():
            assert len(r.reason) > 20, r


# -- the data -----------------------------------------------------------------------------------


def test_prices_are_non_negative() -> None:
    for vendor in load_catalog().vendors.values():
        for m in vendor.models:
            for price in (m.input_cny, m.output_cny, m.cached_input_cny):
                assert price is None or price >= 0, m


def test_a_cache_hit_price_is_below_the_input_price() -> None:
    for vendor in load_catalog().vendors.values():
        for m in vendor.models:
            if m.cached_input_cny is not None:
                assert m.input_cny is not None and m.cached_input_cny < m.input_cny, m


def test_an_unknown_price_always_comes_with_a_note() -> None:
    for vendor in load_catalog().vendors.values():
        for m in vendor.models:
            if m.input_cny is None or (m.is_chat and m.output_cny is None):
                assert m.note, m


def test_usd_is_converted_at_7_2() -> None:
    assert load_catalog().usd_cny == 7.2


def test_the_catalog_is_parsed_once() -> None:
    assert load_catalog() is load_catalog()


def test_catalog_entries_are_frozen() -> None:
    info = model_info("deepseek", "deepseek-chat")
    assert info is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.input_cny = 0  # type: ignore[misc]


def test_model_info_ignores_case_where_the_vendor_does() -> None:
    info = model_info("qianfan", "ERNIE-4.0-8K")
    assert info is not None and info.id == "ernie-4.0-8k"


def test_model_info_respects_case_where_the_vendor_does() -> None:
    assert model_info("siliconflow", "qwen/qwen2.5-7b-instruct") is None


def test_model_info_of_an_unknown_model_or_type_is_none() -> None:
    assert model_info("deepseek", "deepseek-nothing") is None
    assert model_info("no-such-vendor", "deepseek-chat") is None


def test_stream_only_models_are_marked() -> None:
    info = model_info("dashscope", "qwq-32b")
    assert info is not None and info.stream_only


# -- price arithmetic ---------------------------------------------------------------------------


def test_price_is_prompt_and_completion_tokens_at_their_per_million_prices() -> None:
    # moonshot-v1-8k: 12 CNY / M in and out
    assert price_cny("moonshot", "moonshot-v1-8k", 1000, 500) == pytest.approx(1500 * 12 / 1e6)


def test_output_tokens_are_priced_separately_from_input() -> None:
    # deepseek-chat: 2 in, 8 out
    assert price_cny("deepseek", "deepseek-chat", 1_000_000, 1_000_000) == pytest.approx(10.0)


def test_cached_tokens_are_priced_once_at_the_cache_hit_price() -> None:
    # 600 fresh at 2 + 400 cache hits at 0.5, not 1,000 at 2 plus 400 at 0.5
    cost = price_cny("deepseek", "deepseek-chat", 1000, 0, cached_tokens=400)
    assert cost == pytest.approx((600 * 2 + 400 * 0.5) / 1e6)


def test_cached_tokens_cost_ordinary_input_where_there_is_no_cache_price() -> None:
    with_cache = price_cny("moonshot", "moonshot-v1-8k", 1000, 100, cached_tokens=400)
    assert with_cache == price_cny("moonshot", "moonshot-v1-8k", 1000, 100)


def test_cached_tokens_beyond_the_prompt_are_not_counted_twice() -> None:
    over = price_cny("deepseek", "deepseek-chat", 1000, 0, cached_tokens=5000)
    assert over == price_cny("deepseek", "deepseek-chat", 1000, 0, cached_tokens=1000)


def test_free_models_cost_nothing() -> None:
    assert price_cny("zhipu", "glm-4-flash", 10_000, 10_000) == 0.0


def test_embeddings_cost_input_tokens_only() -> None:
    assert price_cny("dashscope", "text-embedding-v3", 1000, 0) == pytest.approx(1000 * 0.7 / 1e6)


def test_price_is_none_when_the_output_price_is_unknown_and_output_was_produced() -> None:
    assert price_cny("hunyuan", "hunyuan-turbo", 1000, 10) is None


def test_a_missing_output_price_does_not_matter_without_output_tokens() -> None:
    assert price_cny("hunyuan", "hunyuan-turbo", 1000, 0) == pytest.approx(1000 * 15 / 1e6)


def test_price_of_an_unknown_model_is_none() -> None:
    assert price_cny("deepseek", "deepseek-nothing", 1000, 1000) is None


def test_negative_token_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="prompt_tokens"):
        price_cny("deepseek", "deepseek-chat", -1, 0)


# -- savings against OpenAI ---------------------------------------------------------------------


def test_openai_cost_prices_the_openai_model_the_client_asked_for() -> None:
    # gpt-4o: USD 2.50 / 10.00 per M at 7.2
    cost = openai_cost_cny("gpt-4o", "chat/completions", 1_000_000, 1_000_000)
    assert cost == pytest.approx(12.5 * 7.2)


def test_openai_cost_of_an_alias_uses_its_model() -> None:
    assert openai_cost_cny("gpt-4o-mini-2024-07-18", "chat/completions", 1000, 1000) == \
        openai_cost_cny("gpt-4o-mini", "chat/completions", 1000, 1000)


def test_openai_cost_of_an_unlisted_dated_snapshot_uses_its_base_model() -> None:
    assert openai_cost_cny("gpt-4o-2024-11-20", "chat/completions", 1000, 1000) == \
        openai_cost_cny("gpt-4o", "chat/completions", 1000, 1000)


def test_openai_cost_of_a_vendor_model_compares_chat_against_gpt_4o_mini() -> None:
    cost = openai_cost_cny("qwen-plus", "chat/completions", 1_000_000, 1_000_000)
    assert cost == pytest.approx((0.15 + 0.60) * 7.2)


def test_openai_cost_of_a_vendor_model_compares_embeddings_against_3_small() -> None:
    assert openai_cost_cny("embedding-3", "embeddings", 1_000_000, 0) == pytest.approx(0.02 * 7.2)


def test_openai_cost_of_a_chat_name_on_the_embeddings_endpoint_uses_the_embeddings_default() -> None:
    assert openai_cost_cny("gpt-4o", "embeddings", 1000, 0) == \
        openai_cost_cny("anything", "embeddings", 1000, 0)


@pytest.mark.parametrize("endpoint", ["/v1/chat/completions", "chat", "completions", "responses"])
def test_openai_cost_accepts_every_chat_style_endpoint_form(endpoint: str) -> None:
    assert openai_cost_cny("gpt-4o", endpoint, 1000, 1000) == \
        openai_cost_cny("gpt-4o", "chat/completions", 1000, 1000)


def test_openai_cost_of_an_unknown_endpoint_is_an_error() -> None:
    with pytest.raises(ValueError, match="images"):
        openai_cost_cny("gpt-4o", "images/generations", 1000, 0)


def test_a_served_request_saves_against_the_openai_model_it_replaced() -> None:
    served = price_cny("deepseek", "deepseek-chat", 2000, 500)
    assert served is not None
    saving = openai_cost_cny("gpt-4o", "chat/completions", 2000, 500) - served
    assert saving == pytest.approx((2000 * 2.5 + 500 * 10) * 7.2 / 1e6 - (2000 * 2 + 500 * 8) / 1e6)
    assert saving > 0


# -- validation of the data file ----------------------------------------------------------------


def minimal() -> dict[str, Any]:
    return {
        "openai_reference": {
            "usd_cny": 7.2,
            "openai_equivalent": {"chat/completions": "gpt-x", "embeddings": "emb-x"},
            "models": [
                {"id": "gpt-x", "caps": ["chat"], "input_usd": 1, "output_usd": 2},
                {"id": "emb-x", "caps": ["embeddings"], "input_usd": 0.1},
            ],
        },
        "vendors": {
            "acme": {"models": [{"id": "m1", "caps": ["chat"], "input": 1, "output": 2,
                                 "price_date": "2025-01"}]},
        },
        "presets": {"acme": {"gpt-x": {"model": "m1", "why": "the only one"}}},
    }


def parsed(doc: dict[str, Any]) -> None:
    parse_catalog(yaml.safe_dump(doc))


def test_a_minimal_catalog_parses() -> None:
    catalog = parse_catalog(yaml.safe_dump(minimal()))
    assert catalog.model("acme", "m1") is not None


def test_a_negative_price_is_rejected_naming_the_vendor_and_model() -> None:
    doc = minimal()
    doc["vendors"]["acme"]["models"][0]["input"] = -1
    with pytest.raises(CatalogError, match=r"vendors\.acme\.m1\.input"):
        parsed(doc)


def test_an_unknown_price_without_a_note_is_rejected() -> None:
    doc = minimal()
    doc["vendors"]["acme"]["models"][0]["output"] = None
    with pytest.raises(CatalogError, match=r"vendors\.acme\.m1: output price unknown"):
        parsed(doc)


def test_a_missing_price_key_is_rejected() -> None:
    doc = minimal()
    del doc["vendors"]["acme"]["models"][0]["output"]
    with pytest.raises(CatalogError, match=r"vendors\.acme\.m1\.output: missing"):
        parsed(doc)


def test_a_price_without_a_date_is_rejected() -> None:
    doc = minimal()
    del doc["vendors"]["acme"]["models"][0]["price_date"]
    with pytest.raises(CatalogError, match=r"vendors\.acme\.m1\.price_date"):
        parsed(doc)


def test_a_misspelt_key_is_rejected() -> None:
    doc = minimal()
    doc["vendors"]["acme"]["models"][0]["ouput"] = 2
    with pytest.raises(CatalogError, match=r"vendors\.acme\.m1: unknown key\(s\) ouput"):
        parsed(doc)


def test_an_unknown_capability_is_rejected() -> None:
    doc = minimal()
    doc["vendors"]["acme"]["models"][0]["caps"] = ["chat", "telepathy"]
    with pytest.raises(CatalogError, match=r"vendors\.acme\.m1\.caps"):
        parsed(doc)


def test_a_model_listed_twice_is_rejected() -> None:
    doc = minimal()
    doc["vendors"]["acme"]["models"].append(dict(doc["vendors"]["acme"]["models"][0]))
    with pytest.raises(CatalogError, match=r"vendors\.acme\.m1: listed twice"):
        parsed(doc)


def test_a_key_repeated_in_one_mapping_is_rejected() -> None:
    text = yaml.safe_dump(minimal()) + "presets:\n  acme: {}\n"
    with pytest.raises(CatalogError, match="'presets' appears twice"):
        parse_catalog(text)


def test_a_preset_naming_a_model_the_vendor_lacks_is_rejected() -> None:
    doc = minimal()
    doc["presets"]["acme"]["gpt-x"]["model"] = "m2"
    with pytest.raises(CatalogError, match=r"presets\.acme\.gpt-x\.model"):
        parsed(doc)


def test_same_as_an_unknown_vendor_is_rejected() -> None:
    doc = minimal()
    doc["vendors"]["acme-native"] = {"same_as": "nobody"}
    with pytest.raises(CatalogError, match=r"vendors\.acme-native\.same_as"):
        parsed(doc)


def test_a_default_openai_equivalent_must_be_a_listed_model() -> None:
    doc = minimal()
    doc["openai_reference"]["openai_equivalent"]["chat/completions"] = "gpt-zzz"
    with pytest.raises(CatalogError, match=r"openai_equivalent\.chat/completions"):
        parsed(doc)


# -- rendering ----------------------------------------------------------------------------------


def test_the_models_table_shows_context_capabilities_prices_and_date() -> None:
    out = printed(render_models)
    row = next(line for line in out.splitlines() if "deepseek-chat" in line)
    for cell in ("65,536", "chat, tools, json_mode", "2 (hit 0.5) / 8", "2025-02"):
        assert cell in row


def test_the_models_table_for_one_vendor_lists_only_that_vendor() -> None:
    out = printed(render_models, vendor="moonshot")
    assert "moonshot-v1-128k" in out and "deepseek-chat" not in out


def test_the_models_table_summarises_a_same_as_type_in_one_row() -> None:
    assert "(same models as dashscope)" in printed(render_models)


def test_the_models_table_for_a_same_as_type_lists_its_models() -> None:
    assert "ernie-tiny-8k" in printed(render_models, vendor="qianfan-v1")


def test_the_presets_table_shows_each_choice_and_why() -> None:
    out = printed(render_models, presets=True)
    row = next(line for line in out.splitlines() if "deepseek-reasoner" in line)
    assert "R1 reasoning model" in row
    assert "qwen-plus" in out


def test_an_unknown_vendor_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown provider type 'nope'"):
        printed(render_models, vendor="nope")


def test_the_providers_table_lists_every_registered_type_with_its_endpoint() -> None:
    out = printed(render_providers)
    for spec in registry().values():
        assert spec.type in out
        if spec.base_url:
            assert spec.base_url in out


def test_models_json_is_plain_data_with_every_model() -> None:
    data = json.loads(json.dumps(models_json()))
    ids = {(m["provider_type"], m["id"]) for m in data["models"]}
    assert ("dashscope-native", "qwen-plus") in ids and ("openai", "gpt-4o") in ids
    assert data["usd_cny"] == 7.2


def test_presets_json_has_one_row_per_preset() -> None:
    rows = models_json(presets=True)["presets"]
    assert len(rows) == len(PRESET_TARGETS)
    assert {"openai_model", "vendor", "model", "reason"} == set(rows[0])


def test_providers_json_gives_credentials_and_key_variables() -> None:
    providers = {p["type"]: p for p in json.loads(json.dumps(providers_json()))["providers"]}
    assert providers["deepseek"]["credentials"] == ["api_key"]
    assert providers["deepseek"]["key_env"] == ["DEEPSEEK_API_KEY"]
    assert providers["openai"]["base_url_required"] is True
