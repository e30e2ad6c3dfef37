"""The descriptors (banjia.vendors) are the one source of a vendor's facts: every consumer agrees
with them, and every capability a descriptor advertises is served through banjia by a fake."""

from __future__ import annotations

import pytest

from banjia.adaptors import registry
from banjia.adaptors.media import MEDIA, OPENAI_MEDIA_NAMES
from banjia.adaptors.vendors import VENDORS, Vendor
from banjia.catalog import CatalogError, VendorModels, load_catalog, parse_catalog
from banjia.migrate._scan_features import CAPABILITIES as SCAN
from banjia.migrate._scan_features import support_for
from banjia.vendors import (
    CHAT_FEATURES,
    DESCRIPTORS,
    MODEL_CAPABILITIES,
    Descriptor,
    known_without,
    model_capabilities,
    refuses_images,
)
from tests.vendors.test_capabilities import CASES, model_for

# the catalog's capability names → the descriptors'
_CATALOG_CAP = {"json_mode": "json_object", "reasoning": "chat"}


def test_every_provider_type_is_built_from_its_descriptor() -> None:
    specs = registry()
    assert set(specs) == set(DESCRIPTORS)
    for t, spec in specs.items():
        d = DESCRIPTORS[t]
        assert (spec.credentials, spec.key_env, spec.base_url, spec.base_url_required) == (
            d.credentials, d.key_env, d.base_url, d.base_url_required
        ), t


def test_openai_dialect_vendors_have_descriptors_that_say_so() -> None:
    assert {t for t, d in DESCRIPTORS.items() if d.protocol == "openai"} == set(VENDORS)


@pytest.mark.parametrize("provider_type", sorted(t for t in DESCRIPTORS if t != "openai"))
def test_catalog_models_use_only_what_their_type_serves(provider_type: str) -> None:
    # every registered type has catalog models (tests/catalog/test_catalog.py): no skip needed
    vendor = load_catalog().vendors[provider_type]
    d = DESCRIPTORS[provider_type]
    for m in vendor.models:
        caps = {_CATALOG_CAP.get(c, c) for c in m.capabilities}
        if vendor.same_as:  # another protocol's list: only its endpoints must be served here
            caps &= {"embeddings", "rerank", "images", "speech", "transcription"}
        assert caps <= d.capabilities, (m.id, caps - d.capabilities)


def test_legacy_qianfan_v1_advertises_no_embeddings_anywhere() -> None:
    # every embedding-v1 call on v1 answers 400: neither scan nor the catalog may offer it
    assert "embeddings" not in DESCRIPTORS["qianfan-v1"].capabilities
    assert "embeddings" not in SCAN["qianfan-v1"]
    v1 = load_catalog().vendors["qianfan-v1"]
    assert not [m.id for m in v1.models if m.is_embedding]
    assert DESCRIPTORS["qianfan-v1"].legacy == "qianfan"


def test_scan_and_media_tables_follow_the_descriptors() -> None:
    ends = {"images": "images", "speech": "speech", "transcriptions": "transcription", "rerank": "rerank"}
    for t, d in DESCRIPTORS.items():
        assert SCAN[t] <= d.capabilities
        served = {ends[e] for e in MEDIA[t].serves} if t in MEDIA else set()
        assert served == set(d.media), t


def test_vendor_quirks_hold_no_fact_the_descriptor_holds() -> None:
    # the base URL, key variables, title and reasoning policy are the descriptor's alone
    fields = set(Vendor.__dataclass_fields__)
    assert not fields & {"base_url", "key_env", "title", "reasoning_replay", "reasoning_unknown"}


def test_only_vendors_that_need_reasoning_back_say_what_to_send_when_it_is_unknown() -> None:
    for t, d in DESCRIPTORS.items():
        t_ = d.thinking
        if t_ is not None and t_.unknown != "disable_thinking":
            assert t_.replay, t


def test_the_model_list_rule_is_the_descriptors_alone() -> None:
    # `banjia catalog check` reads the descriptor's; the catalog keeps no copy that could disagree
    assert "list_models" not in VendorModels.__dataclass_fields__
    with pytest.raises(CatalogError, match=r"vendors\.ark\.list_models: .*descriptor"):
        parse_catalog(_MINIMAL.replace("    docs:", "    list_models: /models\n    docs:"))


def test_ark_lists_its_models() -> None:
    # GET /api/v3/models (https://github.com/QuantumNous/new-api/pull/7203)
    assert DESCRIPTORS["ark"].list_models == "/models"
    assert DESCRIPTORS["ark"].base_url.endswith("/api/v3")


# -- model families ------------------------------------------------------------------------------


@pytest.mark.parametrize("provider_type", sorted(DESCRIPTORS))
def test_every_type_says_what_its_models_serve_by_family(provider_type: str) -> None:
    d = DESCRIPTORS[provider_type]
    assert d.families, f"{provider_type} has no model families"
    seen: dict[str, str] = {}
    for f in d.families:
        assert f.name and f.prefixes, (provider_type, f)
        assert f.capabilities and f.capabilities <= MODEL_CAPABILITIES, (f.name, f.capabilities)
        for p in f.prefixes:
            assert p and p == p.lower(), (f.name, p)  # compared with the lower-cased id
            assert seen.setdefault(p, f.name) == f.name, f"{p!r} is in two families of {provider_type}"
        # a family's model asked through this type serves what the family and the type both serve
        caps = d.model_capabilities(f.prefixes[0])
        assert caps <= d.capabilities
        assert caps & MODEL_CAPABILITIES == f.capabilities & d.capabilities, f.name


@pytest.mark.parametrize(("provider_type", "capability"), CASES)
def test_the_capability_cases_ask_models_the_descriptor_says_serve_them(
        provider_type: str, capability: str) -> None:
    # tests/vendors/test_capabilities.py shows each capability served; the model it asks must be
    # one whose family (or, unknown to the families, whose type) serves it
    provider, _, model = model_for(provider_type, capability).partition("/")
    d = DESCRIPTORS[provider_type]
    assert capability in d.model_capabilities(model), (provider, model)


def test_the_longest_prefix_decides_and_case_does_not_matter() -> None:
    ds, ark, oa = DESCRIPTORS["dashscope"], DESCRIPTORS["ark"], DESCRIPTORS["openai"]
    assert _family(ds, "qwen-plus") == "Qwen text"
    assert _family(ds, "qwen-vl-max-latest") == "Qwen vision"  # qwen-vl over qwen-
    assert _family(ds, "qwen3-asr-flash") == "speech recognition"  # qwen3-asr over qwen3-
    assert _family(ark, "Doubao-Seed-2-0-Pro-260215") == "Doubao Seed"
    assert _family(ark, "doubao-seedream-4-0-250828") == "Seedream"  # seedream over seed
    assert _family(oa, "gpt-4o-mini-tts-2025-03-20") == "OpenAI speech"  # over gpt-4o
    assert _family(oa, "o3-mini") == "GPT text" and _family(oa, "o3") == "GPT multimodal"
    assert ds.family("someone-elses-model") is None


def test_a_model_no_family_names_may_serve_what_its_type_serves() -> None:
    d = DESCRIPTORS["dashscope"]
    assert d.model_capabilities("qwen-next-omni-2027") == d.capabilities
    assert not d.known_without("qwen-next-omni-2027", "vision")
    assert model_capabilities("no-such-type", "m") is None


def test_a_family_serves_only_what_its_type_serves() -> None:
    # qianfan-v1 reads no images even for ERNIE 5 (its protocol has no image part)
    assert "vision" in DESCRIPTORS["qianfan"].model_capabilities("ernie-5.0")
    assert "vision" not in DESCRIPTORS["qianfan-v1"].model_capabilities("ernie-5.0")
    assert refuses_images("qianfan-v1", "ernie-5.0") and not refuses_images("qianfan", "ernie-5.0")
    # a chat family gets the type's wire features, an embedding family none of them
    assert {"streaming", "json_object"} <= DESCRIPTORS["deepseek"].model_capabilities("deepseek-v4-pro")
    embedding = DESCRIPTORS["dashscope"].model_capabilities("text-embedding-v4")
    assert embedding & (MODEL_CAPABILITIES | CHAT_FEATURES) == {"embeddings"}


@pytest.mark.parametrize(("provider_type", "model", "refused"), [
    ("dashscope", "qwen-plus", True),  # a text family
    ("dashscope", "qwen3.5-plus", False),  # Qwen3.5 reads images
    ("dashscope", "qwen-vl-plus", False),
    ("deepseek", "deepseek-v4-pro", True),
    ("deepseek", "deepseek-v9-vision", True),  # DeepSeek's family, and the type reads no images
    ("deepseek", "echo", False),  # unknown: the upstream decides
    ("moonshot", "moonshot-v1-8k", True),
    ("moonshot", "moonshot-v1-8k-vision-preview", False),
    ("moonshot", "kimi-k2.5", False),
    ("zhipu", "glm-4.5v", False),
    ("zhipu", "glm-4.7", True),
    ("openai", "gpt-3.5-turbo", True),
    ("openai", "gpt-4o-2024-08-06", False),
    ("anthropic", "deepseek-v4-flash", True),
    ("anthropic", "claude-echo", False),
    ("no-such-type", "gpt-3.5-turbo", False),
])
def test_images_are_refused_only_where_a_family_reads_text_only(
        provider_type: str, model: str, refused: bool) -> None:
    assert refuses_images(provider_type, model) is refused


def test_the_media_skip_asks_the_family() -> None:
    assert known_without("dashscope", "cosyvoice-v2", "images")
    assert not known_without("dashscope", "cosyvoice-v2", "speech")
    assert not known_without("dashscope", "wanx-next", "images")
    assert not known_without("siliconflow", "Pro/some/new-model", "images")  # unknown: forwarded


def test_openai_media_names_are_the_openai_familys() -> None:
    fams = {c: {p for f in DESCRIPTORS["openai"].families if c in f.capabilities for p in f.prefixes}
            for c in ("images", "speech", "transcription")}
    assert set(OPENAI_MEDIA_NAMES["images"]) == fams["images"]
    assert set(OPENAI_MEDIA_NAMES["speech"]) == fams["speech"]
    assert set(OPENAI_MEDIA_NAMES["transcriptions"]) == fams["transcription"]


def test_scan_asks_a_models_family_when_it_knows_the_model() -> None:
    # moonshot reads images, but not through moonshot-v1-8k
    assert support_for("moonshot", ["vision", "tools"]) == {"vision": "supported", "tools": "supported"}
    assert support_for("moonshot", ["vision", "tools"], "moonshot-v1-8k") == {
        "vision": "unsupported", "tools": "supported"}
    assert support_for("moonshot", ["vision"], "kimi-k2.5") == {"vision": "supported"}
    assert support_for("nobody", ["vision"], "m") == {"vision": "unknown"}


def _family(d: Descriptor, model: str) -> str | None:
    f = d.family(model)
    return f.name if f is not None else None


_MINIMAL = """
schema: 2
openai_reference:
  usd_cny: 7.2
  openai_equivalent: {chat/completions: gpt-4o, completions: gpt-4o, responses: gpt-4o,
                      embeddings: text-embedding-3-small}
  models:
    - {id: gpt-4o, role: flagship, caps: [chat], price: {date: "2024", input: 2.5, output: 10,
       source: "https://platform.openai.com/docs/pricing"}}
    - {id: text-embedding-3-small, role: embedding, caps: [embeddings],
       price: {date: "2024", input: 0.02, source: "https://platform.openai.com/docs/pricing"}}
vendors:
  ark:
    docs: "https://www.volcengine.com/docs/82379"
    models:
      - {id: doubao-pro-32k, caps: [chat], price: null, note: "test"}
presets: {}
"""



def test_only_openai_type_servers_take_token_ids_for_embeddings() -> None:
    # the rest get the text back (banjia.adaptors.openai_compat)
    assert {t for t, d in DESCRIPTORS.items() if d.token_input} == {"openai"}
