"""The catalog's per-model capabilities are held to the descriptors' model families (banjia.vendors):
what the gateway reads about a model (the image refusal, the media skip, scan) is the family's, so
the catalog may not say more than its family, and no family may stand for nothing in the catalog."""

from __future__ import annotations

import pytest

from banjia.catalog import ModelInfo, load_catalog
from banjia.vendors import CHAT_FEATURES, DESCRIPTORS, refuses_images
from banjia.vendors.families import BY_TYPE

# the catalog's capability names → the descriptors' (reasoning is a chat model's: Thinking)
_CATALOG_CAP = {"json_mode": "json_object", "reasoning": "chat"}
_CATALOGUED = sorted(t for t in DESCRIPTORS if t in load_catalog().vendors)


def _caps(m: ModelInfo) -> set[str]:
    return {_CATALOG_CAP.get(c, c) for c in m.capabilities}


def test_every_type_has_its_families() -> None:
    assert set(BY_TYPE) == set(DESCRIPTORS)
    for t, d in DESCRIPTORS.items():
        assert d.families == BY_TYPE[t], t


@pytest.mark.parametrize("provider_type", _CATALOGUED)
def test_every_catalog_model_is_within_its_family(provider_type: str) -> None:
    d = DESCRIPTORS[provider_type]
    vendor = load_catalog().vendors[provider_type]
    for m in vendor.models:
        f = d.family(m.id)
        assert f is not None, f"{provider_type}/{m.id} belongs to no family of its descriptor"
        family = f.capabilities | (CHAT_FEATURES if "chat" in f.capabilities else set())
        assert _caps(m) <= family, (m.id, f.name, _caps(m) - family)
        if vendor.same_as is None:  # the type's own list: what it serves, through the type too
            assert _caps(m) <= d.model_capabilities(m.id), (m.id, _caps(m) - d.model_capabilities(m.id))


# openai and anthropic serve names beyond the catalog's (any server, any base): their families may
# name models the catalog does not list (OpenAI's media names)
@pytest.mark.parametrize("provider_type", [t for t in _CATALOGUED if DESCRIPTORS[t].serves_catalog])
def test_every_family_names_a_catalog_model(provider_type: str) -> None:
    d = DESCRIPTORS[provider_type]
    catalog = load_catalog().vendors
    vendor = catalog[provider_type]
    # a type that serves another's list (a second protocol, a legacy one) borrows that vendor's
    # families: they are held to that vendor's full list
    models = catalog[vendor.same_as or provider_type].models
    for f in d.families:
        assert any(d.family(m.id) is f for m in models), f"{provider_type}: {f.name} names no catalog model"


@pytest.mark.parametrize("provider_type", _CATALOGUED)
def test_a_catalog_model_listed_with_vision_is_never_refused_an_image(provider_type: str) -> None:
    for m in load_catalog().vendors[provider_type].models:
        if "vision" in m.capabilities and "vision" in DESCRIPTORS[provider_type].capabilities:
            assert not refuses_images(provider_type, m.id), m.id


def test_a_catalog_chat_model_without_vision_is_refused_unless_its_family_reads_images() -> None:
    # the families say more than the catalog only where a source says so (banjia.vendors.families)
    wider = []
    for t in _CATALOGUED:
        for m in load_catalog().vendors[t].models:
            if m.is_chat and "vision" not in m.capabilities and not refuses_images(t, m.id):
                wider.append(f"{t}/{m.id}")
    assert set(wider) == {
        # GPT-5 nano and the pro / o-series reasoning sizes read images (platform.openai.com/docs/models)
        "openai/gpt-5.4-nano", "openai/gpt-5-nano", "openai/gpt-5.5-pro", "openai/gpt-5.4-pro",
        "openai/gpt-5.2-pro", "openai/gpt-5-pro", "openai/o3-pro", "openai/o1-pro",
        # Doubao Seed 2.x are multimodal (https://www.volcengine.com/docs/82379/1330310)
        "ark/doubao-seed-2.0-mini",
        # ERNIE 5.x is natively multimodal
        "qianfan/ernie-5.1",
    }, wider
