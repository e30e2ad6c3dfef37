"""The descriptors (banjia.vendors) are the one source of a vendor's facts: every consumer agrees
with them, and every capability a descriptor advertises is served through banjia by a fake."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest

from banjia.adaptors import registry
from banjia.adaptors.media import MEDIA
from banjia.adaptors.vendors import VENDORS
from banjia.catalog import load_catalog
from banjia.migrate._scan_features import CAPABILITIES as SCAN
from banjia.vendors import DESCRIPTORS
from tests.fakes.openai_fake import API_KEY, FakeOpenAI
from tests.harness import MASTER_KEY, AioServer, Gateway

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


def test_reasoning_replay_agrees_with_the_descriptor() -> None:
    for t, v in VENDORS.items():
        t_ = DESCRIPTORS[t].thinking
        assert bool(getattr(v, "reasoning_replay", False)) == bool(t_ and t_.replay), t


# -- every advertised capability, through banjia, against the OpenAI-dialect fake ----------------

_USER: Any = [{"role": "user", "content": "hello there"}]
_TOOL: Any = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
_IMAGE: Any = [{"role": "user", "content": [
    {"type": "text", "text": "what is it"},
    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
]}]

Call = Callable[[openai.OpenAI, str], object]
CALLS: dict[str, Call] = {
    "chat": lambda c, p: c.chat.completions.create(model=f"{p}/m", messages=_USER).choices[0],
    "streaming": lambda c, p: list(
        c.chat.completions.create(model=f"{p}/m", messages=_USER, stream=True)),
    "completions": lambda c, p: c.completions.create(model=f"{p}/m", prompt="hello").choices[0],
    "responses": lambda c, p: c.responses.create(model=f"{p}/m", input="hello").output_text,
    "tools": lambda c, p: c.chat.completions.create(
        model=f"{p}/tools", messages=_USER, tools=[_TOOL]).choices[0].message.tool_calls,
    "json_object": lambda c, p: c.chat.completions.create(
        model=f"{p}/json", messages=_USER, response_format={"type": "json_object"}).choices[0],
    "vision": lambda c, p: c.chat.completions.create(model=f"{p}/m", messages=_IMAGE).choices[0],
    "embeddings": lambda c, p: c.embeddings.create(
        model=f"{p}/e", input="hello", encoding_format="float").data[0].embedding,
    "n": lambda c, p: c.chat.completions.create(model=f"{p}/m", messages=_USER, n=2).choices[1],
    "logprobs": lambda c, p: c.chat.completions.create(
        model=f"{p}/m", messages=_USER, logprobs=True).choices[0],
}

_DIALECT = sorted(t for t, d in DESCRIPTORS.items() if d.protocol == "openai")
CASES = [
    (t, cap) for t in _DIALECT for cap in sorted(DESCRIPTORS[t].capabilities) if cap in CALLS
]


@pytest.fixture(scope="module")
def client() -> Iterator[openai.OpenAI]:
    fake = FakeOpenAI()
    server = AioServer(fake.app, "openai-fake")
    providers = {
        t: {"type": t, "base_url": f"{server.url}/v1", "api_key": API_KEY} for t in _DIALECT
    }
    g = Gateway({
        "server": {"master_key": MASTER_KEY},
        "routing": {"retries": 0, "presets": False},
        "providers": providers,
    })
    try:
        yield openai.OpenAI(base_url=g.base_url, api_key=MASTER_KEY, max_retries=0,
                            _strict_response_validation=True)
    finally:
        g.stop()
        server.stop()


@pytest.mark.parametrize(("provider_type", "capability"), CASES)
def test_each_advertised_capability_is_served(
    client: openai.OpenAI, provider_type: str, capability: str
) -> None:
    assert CALLS[capability](client, provider_type)
