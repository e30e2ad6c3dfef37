"""The model catalog: coverage of every provider type, dated and sourced prices, retirements, the
presets, savings against OpenAI, validation of the data file, and the ``banjia models`` /
``providers`` output."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from typing import Any

import pytest
import yaml
from rich.console import Console

from banjia.adaptors import registry
from banjia.catalog import (
    ROLES,
    CatalogError,
    catalog_models,
    load_catalog,
    model_info,
    openai_cost_cny,
    parse_catalog,
    preset_reasons,
    price_cny,
    retirements,
)
from banjia.catalog.render import models_json, providers_json, render_models, render_providers
from banjia.pricing import BEIJING
from banjia.routing.presets import OPENAI_CHAT, OPENAI_EMBEDDINGS, PRESETS, preset_for

# interface.md, "Provider types and their credential fields"
DOCUMENTED_TYPES = {
    "openai", "deepseek", "moonshot", "siliconflow", "yi", "baichuan", "stepfun", "zhinao",
    "dashscope", "qianfan", "hunyuan", "spark", "minimax", "ark", "zhipu", "dashscope-native",
    "qianfan-v1", "hunyuan-tc3", "spark-ws", "minimax-pro", "local", "tokenhub", "mimo",
    "anthropic",
}
# vendors the catalog already lists whose provider type arrives with their adaptor entry
AWAITING_ADAPTOR: set[str] = set()
# a weekday off-peak time, so banded prices are the catalog's list (off-peak) rates
OFF_PEAK = dt.datetime(2026, 12, 8, 20, 0, tzinfo=BEIJING)


def printed(render: Any, *args: Any, **kwargs: Any) -> str:
    out = io.StringIO()
    render(Console(file=out, width=250, color_system=None), *args, **kwargs)
    return out.getvalue()


def every_model() -> list[Any]:
    return [m for v in load_catalog().vendors.values() for m in v.models]


# -- coverage -----------------------------------------------------------------------------------


@pytest.mark.parametrize("provider_type", sorted(registry()))
def test_every_registered_provider_type_has_catalog_models(provider_type: str) -> None:
    assert catalog_models(provider_type)


@pytest.mark.parametrize("provider_type", sorted(DOCUMENTED_TYPES))
def test_every_documented_provider_type_has_catalog_models(provider_type: str) -> None:
    assert catalog_models(provider_type)


def test_the_catalog_names_no_undocumented_provider_type() -> None:
    assert set(load_catalog().vendors) <= DOCUMENTED_TYPES | AWAITING_ADAPTOR


@pytest.mark.parametrize("provider_type", sorted(DOCUMENTED_TYPES - {"local", "openai"}))
def test_every_vendor_lists_a_current_chat_model(provider_type: str) -> None:
    vendor = load_catalog().vendors[provider_type]
    assert any(m.is_chat and not m.retired_on() for m in vendor.models)


def test_every_vendor_names_its_documentation() -> None:
    for vendor in load_catalog().vendors.values():
        assert vendor.docs is not None and vendor.docs.startswith("https://"), vendor.type


def test_the_openai_type_lists_the_openai_reference_models() -> None:
    # Claude's reference models (claude_names) are compared against, but no OpenAI model
    assert catalog_models("openai") == [m for m in load_catalog().openai if not m.startswith("claude-")]


def test_openai_models_are_priced_in_cny_at_the_reference_rate() -> None:
    info = model_info("openai", "gpt-4o-mini")
    assert info is not None
    assert (info.input_cny, info.output_cny) == pytest.approx((0.15 * 7.2, 0.60 * 7.2))


def test_catalog_models_of_an_unknown_type_is_empty() -> None:
    assert catalog_models("no-such-vendor") == []


def test_a_same_as_type_shares_its_base_types_models() -> None:
    assert catalog_models("dashscope-native") == catalog_models("dashscope")


def test_a_same_as_type_reports_itself_as_the_provider_type() -> None:
    info = model_info("hunyuan-tc3", "hunyuan-turbo")
    assert info is not None and info.provider_type == "hunyuan-tc3"


def test_only_narrows_a_same_as_list_to_the_models_with_a_v1_path() -> None:
    v1 = catalog_models("qianfan-v1")
    assert "ernie-4.0-8k" in v1 and "ernie-5.0" not in v1
    assert set(v1) < set(catalog_models("qianfan"))


def test_qianfan_v1_no_longer_advertises_the_embedding_every_call_refuses() -> None:
    assert "embedding-v1" not in catalog_models("qianfan-v1")


def test_spark_models_are_named_by_their_domains() -> None:
    legacy = {"lite", "generalv3", "pro-128k", "generalv3.5", "max-32k", "4.0Ultra"}
    assert set(catalog_models("spark")) == legacy | {"x1"}  # X1 on the HTTP v2 base only
    assert set(catalog_models("spark-ws")) == legacy


def test_the_local_default_model_is_free_and_serves_chat_and_embeddings() -> None:
    info = model_info("local", "default")
    assert info is not None
    assert (info.input_cny, info.output_cny) == (0, 0)
    assert info.is_chat and info.is_embedding


def test_embedding_models_are_listed_for_the_vendors_that_have_them() -> None:
    for vendor, model in [("dashscope", "text-embedding-v4"), ("zhipu", "embedding-3"),
                          ("siliconflow", "BAAI/bge-m3"), ("hunyuan", "hunyuan-embedding")]:
        info = model_info(vendor, model)
        assert info is not None and info.is_embedding, (vendor, model)


def test_rerank_models_are_listed_where_the_vendor_serves_rerank() -> None:
    for vendor, model in [("dashscope", "qwen3-rerank"), ("siliconflow", "BAAI/bge-reranker-v2-m3")]:
        info = model_info(vendor, model)
        assert info is not None and info.is_rerank and not info.is_chat


# -- dated, sourced prices ------------------------------------------------------------------------


def test_every_price_carries_its_date_and_an_https_source() -> None:
    for m in every_model():
        for s in m.prices:
            assert s.date, m
            assert s.source and s.source.startswith("https://"), m


def test_an_unknown_price_always_comes_with_a_note() -> None:
    for m in every_model():
        if m.price is None or m.input_cny is None or (m.is_chat and m.output_cny is None):
            assert m.note or (m.price is not None and m.price.note), m


def test_prices_are_non_negative() -> None:
    for m in every_model():
        for s in m.prices:
            for r in (s.rates, *(t.rates for t in s.tiers), *(b.rates for b in s.bands)):
                for price in (r.input, r.output, r.cache_read, r.cache_write):
                    assert price is None or price >= 0, m


def test_a_cache_hit_price_is_below_the_input_price() -> None:
    for m in every_model():
        for s in m.prices:
            for r in (s.rates, *(t.rates for t in s.tiers), *(b.rates for b in s.bands)):
                if r.cache_read is not None:
                    assert r.input is not None and r.cache_read < r.input, m


def test_the_price_in_force_is_the_newest_not_after_the_day() -> None:
    info = model_info("moonshot", "moonshot-v1-8k")
    assert info is not None
    assert info.schedule_at(dt.datetime(2025, 6, 1, tzinfo=BEIJING)).rates.input == 12  # type: ignore[union-attr]
    assert info.schedule_at(dt.datetime(2026, 3, 1, tzinfo=BEIJING)).rates.input == 2  # type: ignore[union-attr]


def test_before_its_first_date_a_model_has_its_oldest_known_price() -> None:
    info = model_info("deepseek", "deepseek-v4-flash")
    assert info is not None
    assert info.schedule_at(dt.datetime(2020, 1, 1, tzinfo=BEIJING)) is info.prices[0]


def test_deepseek_v4_bills_double_in_weekday_peak_hours() -> None:
    peak = dt.datetime(2026, 12, 8, 10, 30, tzinfo=BEIJING)  # a Tuesday
    weekend = dt.datetime(2026, 12, 12, 10, 30, tzinfo=BEIJING)  # a Saturday
    # V4-Flash: 2 / 4 (hit 0.04) at peak, 1 / 2 (hit 0.02) otherwise
    assert price_cny("deepseek", "deepseek-v4-flash", 1000, 100, 200, at=peak) == pytest.approx(
        (800 * 2 + 200 * 0.04 + 100 * 4) / 1e6)
    assert price_cny("deepseek", "deepseek-v4-flash", 1000, 100, 200, at=weekend) == pytest.approx(
        (800 * 1 + 200 * 0.02 + 100 * 2) / 1e6)


def test_qwen3_max_charges_one_rate_for_the_whole_request_by_prompt_size() -> None:
    # 40,000 prompt tokens fall in the 32K-128K tier: all of them at 4, not 32K at 2.5 and the rest at 4
    assert price_cny("dashscope", "qwen3-max", 40_000, 1_000, at=OFF_PEAK) == pytest.approx(
        (40_000 * 4 + 1_000 * 16) / 1e6)


def test_cached_tokens_are_priced_once_at_the_cache_rate() -> None:
    cost = price_cny("deepseek", "deepseek-v4-flash", 1000, 0, cached_tokens=400, at=OFF_PEAK)
    assert cost == pytest.approx((600 * 1 + 400 * 0.02) / 1e6)


def test_cached_tokens_cost_ordinary_input_where_there_is_no_cache_price() -> None:
    with_cache = price_cny("dashscope", "qwen-coder-turbo", 1000, 100, cached_tokens=400)
    assert with_cache == price_cny("dashscope", "qwen-coder-turbo", 1000, 100)


def test_cached_tokens_beyond_the_prompt_are_not_counted_twice() -> None:
    over = price_cny("deepseek", "deepseek-v4-flash", 1000, 0, cached_tokens=5000, at=OFF_PEAK)
    assert over == price_cny("deepseek", "deepseek-v4-flash", 1000, 0, cached_tokens=1000, at=OFF_PEAK)
    assert over is not None and over >= 0


def test_free_models_cost_nothing() -> None:
    assert price_cny("zhipu", "glm-4-flash", 10_000, 10_000) == 0.0


def test_embeddings_cost_input_tokens_only() -> None:
    assert price_cny("dashscope", "text-embedding-v3", 1000, 0) == pytest.approx(1000 * 0.7 / 1e6)


def test_price_is_none_when_the_output_price_is_unknown_and_output_was_produced() -> None:
    assert price_cny("hunyuan", "hunyuan-turbo", 1000, 10) is None


def test_a_missing_output_price_does_not_matter_without_output_tokens() -> None:
    assert price_cny("hunyuan", "hunyuan-turbo", 1000, 0) == pytest.approx(1000 * 15 / 1e6)


def test_price_of_an_unknown_model_or_an_unpriced_one_is_none() -> None:
    assert price_cny("deepseek", "deepseek-nothing", 1000, 1000) is None
    assert price_cny("spark", "4.0Ultra", 1000, 1000) is None


def test_negative_token_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="prompt_tokens"):
        price_cny("deepseek", "deepseek-v4-flash", -1, 0)


# -- retirements ----------------------------------------------------------------------------------


def test_deepseeks_legacy_ids_are_retired_into_v4_flash() -> None:
    for old in ("deepseek-chat", "deepseek-reasoner"):
        info = model_info("deepseek", old)
        assert info is not None and info.retired == "2026-07-24" and info.successor == "deepseek-v4-flash"
        assert info.retired_on(dt.date(2026, 7, 24)) and not info.retired_on(dt.date(2026, 7, 23))


def test_a_retired_model_keeps_its_entry_and_its_last_price() -> None:
    assert price_cny("deepseek", "deepseek-chat", 1000, 200, 600) is not None


def test_retired_models_are_not_listed_as_served() -> None:
    assert "deepseek-chat" not in catalog_models("deepseek")
    assert "deepseek-v4-flash" in catalog_models("deepseek")


def test_retirements_map_each_retired_id_to_the_model_serving_it() -> None:
    assert retirements("deepseek")["deepseek-chat"] == ("deepseek-chat", "deepseek-v4-flash")
    assert retirements("deepseek", dt.date(2026, 1, 1)) == {}


# -- presets ------------------------------------------------------------------------------------

PRESET_TARGETS = [(v, name, model) for v, m in PRESETS.items() for name, model in m.items()]


@pytest.mark.parametrize(("vendor", "openai_name", "model"), PRESET_TARGETS)
def test_every_preset_target_is_a_current_catalog_model_of_its_kind(
    vendor: str, openai_name: str, model: str
) -> None:
    info = model_info(vendor, model)
    assert info is not None, f"{vendor}: {openai_name} → {model} is not in the catalog"
    assert not info.retired_on()
    assert info.is_embedding == (openai_name in OPENAI_EMBEDDINGS)


def test_presets_py_reads_the_catalogs_presets() -> None:
    justified = {v: {name: r.model for name, r in reasons.items()}
                 for v, reasons in preset_reasons().items()}
    assert justified == PRESETS


def test_every_preset_reason_is_written_out() -> None:
    for by_role in load_catalog().roles.values():
        for r in by_role.values():
            assert len(r.reason) > 20, r


def test_every_openai_reference_model_has_a_role() -> None:
    assert {m.role for m in load_catalog().openai.values()} == set(ROLES)
    assert set(OPENAI_CHAT) | set(OPENAI_EMBEDDINGS) == set(load_catalog().openai)


def test_a_vendor_without_a_small_reasoning_pick_uses_its_reasoning_model() -> None:
    assert PRESETS["moonshot"]["o4-mini"] == PRESETS["moonshot"]["o3"] == "kimi-k2-thinking"


def test_no_preset_points_at_deepseeks_retired_ids() -> None:
    assert set(PRESETS["deepseek"].values()) == {"deepseek-v4-flash", "deepseek-v4-pro"}


def test_preset_for_resolves_any_openai_name_by_its_role() -> None:
    assert preset_for("deepseek", "gpt-4o-mini-2024-07-18") == PRESETS["deepseek"]["gpt-4o-mini"]
    assert preset_for("deepseek", "qwen-plus") is None
    assert preset_for("deepseek", "text-embedding-3-small") is None  # DeepSeek has no embeddings


# -- savings against OpenAI ---------------------------------------------------------------------


def test_openai_cost_prices_the_openai_model_the_client_asked_for() -> None:
    # gpt-4o: USD 2.50 / 10.00 per M at 7.2
    cost = openai_cost_cny("gpt-4o", "chat/completions", 1_000_000, 1_000_000)
    assert cost == pytest.approx(12.5 * 7.2)


def test_openai_cost_counts_cached_tokens_at_openais_cache_rate() -> None:
    cost = openai_cost_cny("gpt-4o", "chat/completions", 1000, 0, cached_tokens=400)
    assert cost == pytest.approx((600 * 2.5 + 400 * 1.25) * 7.2 / 1e6)


def test_openai_cost_of_an_alias_uses_its_model() -> None:
    assert openai_cost_cny("gpt-4o-mini-2024-07-18", "chat/completions", 1000, 1000) == \
        openai_cost_cny("gpt-4o-mini", "chat/completions", 1000, 1000)


def test_openai_cost_of_an_unlisted_dated_snapshot_uses_its_base_model() -> None:
    assert openai_cost_cny("gpt-4o-2025-02-01", "chat/completions", 1000, 1000) == \
        openai_cost_cny("gpt-4o", "chat/completions", 1000, 1000)


def test_openai_cost_of_a_vendor_model_compares_chat_against_gpt_5_mini() -> None:
    cost = openai_cost_cny("qwen-plus", "chat/completions", 1_000_000, 1_000_000)
    assert cost == pytest.approx((0.25 + 2) * 7.2)


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
    served = price_cny("deepseek", "deepseek-v4-flash", 2000, 500, at=OFF_PEAK)
    assert served is not None
    saving = openai_cost_cny("gpt-4o", "chat/completions", 2000, 500) - served
    assert saving == pytest.approx((2000 * 2.5 + 500 * 10) * 7.2 / 1e6 - (2000 * 1 + 500 * 2) / 1e6)
    assert saving > 0


# -- validation of the data file ----------------------------------------------------------------

SOURCE = "https://example.com/pricing"


def minimal() -> dict[str, Any]:
    return {
        "openai_reference": {
            "usd_cny": 7.2,
            "openai_equivalent": {"chat/completions": "gpt-x", "embeddings": "emb-x"},
            "models": [
                {"id": "gpt-x", "role": "flagship", "caps": ["chat"],
                 "price": {"date": "2025", "source": SOURCE, "input": 1, "output": 2}},
                {"id": "emb-x", "role": "embedding", "caps": ["embeddings"],
                 "price": {"date": "2025", "source": SOURCE, "input": 0.1}},
            ],
        },
        "vendors": {
            "acme": {"models": [
                {"id": "m1", "caps": ["chat"],
                 "price": {"date": "2025-01", "source": SOURCE, "input": 1, "output": 2}},
                {"id": "m0", "caps": ["chat"], "retired": "2025-06-01", "successor": "m1",
                 "price": {"date": "2024", "source": SOURCE, "input": 3, "output": 3}},
            ]},
        },
        "presets": {"acme": {"flagship": {"model": "m1", "why": "the only one"}}},
    }


def parsed(doc: dict[str, Any]) -> None:
    parse_catalog(yaml.safe_dump(doc))


def first(doc: dict[str, Any]) -> dict[str, Any]:
    model: dict[str, Any] = doc["vendors"]["acme"]["models"][0]
    return model


def test_a_minimal_catalog_parses() -> None:
    catalog = parse_catalog(yaml.safe_dump(minimal()))
    assert catalog.model("acme", "m1") is not None
    assert catalog.presets["acme"]["gpt-x"].model == "m1"


def test_a_negative_price_is_rejected_naming_the_vendor_and_model() -> None:
    doc = minimal()
    first(doc)["price"]["input"] = -1
    with pytest.raises(CatalogError, match=r"vendors\.acme\.m1\.price\.input"):
        parsed(doc)


def test_an_unknown_price_without_a_note_is_rejected() -> None:
    doc = minimal()
    first(doc)["price"] = None
    with pytest.raises(CatalogError, match=r"vendors\.acme\.m1: price unknown"):
        parsed(doc)


def test_a_missing_price_key_is_rejected() -> None:
    doc = minimal()
    del first(doc)["price"]
    with pytest.raises(CatalogError, match=r"vendors\.acme\.m1\.price: missing"):
        parsed(doc)


@pytest.mark.parametrize("key", ["date", "source"])
def test_a_price_without_its_date_or_source_is_rejected(key: str) -> None:
    doc = minimal()
    del first(doc)["price"][key]
    with pytest.raises(CatalogError, match=rf"vendors\.acme\.m1\.price\.{key}: required"):
        parsed(doc)


def test_dated_prices_must_follow_each_other() -> None:
    doc = minimal()
    p = first(doc)["price"]
    first(doc)["price"] = [p, dict(p)]
    with pytest.raises(CatalogError, match=r"vendors\.acme\.m1\.price\[1\]\.date"):
        parsed(doc)


def test_a_bad_band_in_the_catalog_is_named() -> None:
    doc = minimal()
    first(doc)["price"]["bands"] = [{"hours": ["25:00-26:00"], "input": 1, "output": 1}]
    where = r'vendors\.acme\.m1\.price\.bands\[0\]\.hours\[0\]: "25:00-26:00"'
    with pytest.raises(CatalogError, match=where):
        parsed(doc)


def test_a_misspelt_key_is_rejected() -> None:
    doc = minimal()
    first(doc)["ouput"] = 2
    with pytest.raises(CatalogError, match=r"vendors\.acme\.m1: unknown key\(s\) ouput"):
        parsed(doc)


def test_an_unknown_capability_is_rejected() -> None:
    doc = minimal()
    first(doc)["caps"] = ["chat", "telepathy"]
    with pytest.raises(CatalogError, match=r"vendors\.acme\.m1\.caps"):
        parsed(doc)


def test_a_model_listed_twice_is_rejected() -> None:
    doc = minimal()
    doc["vendors"]["acme"]["models"].append(dict(first(doc)))
    with pytest.raises(CatalogError, match=r"vendors\.acme\.m1: listed twice"):
        parsed(doc)


def test_a_key_repeated_in_one_mapping_is_rejected() -> None:
    text = yaml.safe_dump(minimal()) + "presets:\n  acme: {}\n"
    with pytest.raises(CatalogError, match="'presets' appears twice"):
        parse_catalog(text)


def test_a_successor_must_be_listed() -> None:
    doc = minimal()
    doc["vendors"]["acme"]["models"][1]["successor"] = "m9"
    with pytest.raises(CatalogError, match=r"vendors\.acme\.m0\.successor: 'm9'"):
        parsed(doc)


def test_successors_must_not_loop() -> None:
    doc = minimal()
    first(doc).update(retired="2025-07-01", successor="m0")
    with pytest.raises(CatalogError, match="loop"):
        parsed(doc)


def test_retired_needs_a_successor() -> None:
    doc = minimal()
    del doc["vendors"]["acme"]["models"][1]["successor"]
    with pytest.raises(CatalogError, match="'retired' and 'successor' go together"):
        parsed(doc)


def test_a_preset_naming_a_retired_model_is_rejected() -> None:
    doc = minimal()
    doc["presets"]["acme"]["flagship"]["model"] = "m0"
    with pytest.raises(CatalogError, match=r"presets\.acme\.flagship\.model: 'm0' is retired"):
        parsed(doc)


def test_a_preset_naming_a_model_the_vendor_lacks_is_rejected() -> None:
    doc = minimal()
    doc["presets"]["acme"]["flagship"]["model"] = "m2"
    with pytest.raises(CatalogError, match=r"presets\.acme\.flagship\.model"):
        parsed(doc)


def test_a_preset_for_an_unknown_role_is_rejected() -> None:
    doc = minimal()
    doc["presets"]["acme"]["gpt-x"] = {"model": "m1", "why": "names are roles now"}
    with pytest.raises(CatalogError, match=r"presets\.acme\.gpt-x: not a role"):
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


def test_an_openai_model_needs_a_role_that_fits_it() -> None:
    doc = minimal()
    doc["openai_reference"]["models"][1]["role"] = "flagship"
    with pytest.raises(CatalogError, match=r"openai_reference\.models\.emb-x\.role"):
        parsed(doc)


# -- rendering ----------------------------------------------------------------------------------


def test_the_models_table_shows_context_capabilities_prices_date_and_source() -> None:
    out = printed(render_models)
    row = next(line for line in out.splitlines() if "deepseek-v4-flash" in line)
    for cell in ("1,000,000", "chat, tools, json_mode, reasoning", "1 (hit 0.02) / 2 banded",
                 "2026-08-16*", "api-docs.deepseek.com"):
        assert cell in row, cell


def test_the_models_table_marks_retired_models_with_their_successor() -> None:
    out = printed(render_models, vendor="deepseek")
    assert "deepseek-chat (retired 2026-07-24 -> deepseek-v4-flash)" in out


def test_the_models_table_for_one_vendor_lists_only_that_vendor() -> None:
    out = printed(render_models, vendor="moonshot")
    assert "moonshot-v1-128k" in out and "deepseek-v4-flash" not in out


def test_the_models_table_summarises_a_same_as_type_in_one_row() -> None:
    assert "(same models as dashscope)" in printed(render_models)


def test_the_models_table_for_a_same_as_type_lists_its_models() -> None:
    assert "ernie-tiny-8k" in printed(render_models, vendor="qianfan-v1")


def test_the_presets_table_shows_each_role_choice_and_why() -> None:
    out = printed(render_models, presets=True)
    row = next(line for line in out.splitlines() if "kimi-k2-thinking" in line)
    assert "dedicated thinking model" in row
    assert "qwen3-max" in out


def test_an_unknown_vendor_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown provider type 'nope'"):
        printed(render_models, vendor="nope")


def test_the_providers_table_lists_every_registered_type_with_its_endpoint() -> None:
    out = printed(render_providers)
    for spec in registry().values():
        assert spec.type in out
        if spec.base_url:
            assert spec.base_url in out


def test_the_providers_list_fits_an_80_column_terminal_with_every_url_whole() -> None:
    out = io.StringIO()
    render_providers(Console(file=out, width=80, color_system=None))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    for spec in registry().values():
        assert any(line.split()[:1] == [spec.type] for line in lines), spec.type
        if spec.base_url:
            assert any(line.strip() == f"base URL     {spec.base_url}" for line in lines), spec.base_url


def test_models_json_has_every_dated_price_with_its_source() -> None:
    data = json.loads(json.dumps(models_json()))
    by_id = {(m["provider_type"], m["id"]): m for m in data["models"]}
    assert ("dashscope-native", "qwen3-max") in by_id and ("openai", "gpt-4o") in by_id
    flash = by_id[("deepseek", "deepseek-v4-flash")]
    assert [p["date"] for p in flash["prices"]] == ["2026-04-26", "2026-07-24", "2026-08-16"]
    assert flash["prices"][-1]["bands"][0]["when"] == "mon-fri 09:00-12:00, 14:00-18:00"
    assert all(p["source"].startswith("https://") for p in flash["prices"])
    assert by_id[("deepseek", "deepseek-chat")]["successor"] == "deepseek-v4-flash"
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


def test_catalog_entries_are_frozen() -> None:
    info = model_info("deepseek", "deepseek-v4-flash")
    assert info is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.id = "other"  # type: ignore[misc]


def test_the_catalog_is_parsed_once() -> None:
    assert load_catalog() is load_catalog()


def test_model_info_ignores_case_where_the_vendor_does() -> None:
    info = model_info("qianfan", "ERNIE-5.0")
    assert info is not None and info.id == "ernie-5.0"


def test_model_info_respects_case_where_the_vendor_does() -> None:
    assert model_info("siliconflow", "qwen/qwen2.5-7b-instruct") is None


def test_stream_only_models_are_marked() -> None:
    info = model_info("dashscope", "qwq-32b")
    assert info is not None and info.stream_only
