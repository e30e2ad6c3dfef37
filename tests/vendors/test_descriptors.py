"""The descriptors (banjia.vendors) are the one source of a vendor's facts: every consumer agrees
with them, and every capability a descriptor advertises is served through banjia by a fake."""

from __future__ import annotations

import pytest

from banjia.adaptors import registry
from banjia.adaptors.media import MEDIA
from banjia.adaptors.vendors import VENDORS, Vendor
from banjia.catalog import load_catalog
from banjia.migrate._scan_features import CAPABILITIES as SCAN
from banjia.vendors import DESCRIPTORS

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
    vendor = load_catalog().vendors.get(provider_type)
    if vendor is None:
        pytest.skip(f"{provider_type} has no catalog entry")
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


def test_the_catalog_names_the_same_model_list_as_the_descriptor() -> None:
    # `banjia catalog check` reads the descriptor's; the catalog's copy must not say otherwise
    catalog = load_catalog().vendors
    for t, d in DESCRIPTORS.items():
        if t in catalog:
            assert catalog[t].list_models == d.list_models, t

