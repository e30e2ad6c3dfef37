"""Every capability a descriptor (banjia.vendors) advertises is served through banjia by a fake.

The cases come from the descriptors alone: each provider type, each capability it advertises. A
capability this file has no call for, or a type it has no fake for, fails its case: a descriptor
can only advertise what a test shows banjia serving.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from banjia.vendors import CAPABILITIES, DESCRIPTORS
from tests.conftest import strict_client
from tests.fakes import (
    anthropic_fake,
    ark_media_fake,
    batch_fake,
    dashscope_fake,
    dashscope_media_fake,
    hunyuan_fake,
    minimax_fake,
    minimax_media_fake,
    openai_fake,
    qianfan_fake,
    siliconflow_media_fake,
    spark_fake,
    zhipu_media_fake,
)
from tests.fakes.media_files import PNG, wav
from tests.harness import MASTER_KEY, AioServer, Gateway
from tests.vendors import openai_images_fake

_USER: Any = [{"role": "user", "content": "hello there"}]
_ASK_TOOL: Any = [{"role": "user", "content": "weather in Beijing?"}]
_TOOL: Any = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
_IMAGE: Any = [{"role": "user", "content": [
    {"type": "text", "text": "what is it"},
    {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}},
]}]
_SCHEMA: Any = {"type": "json_schema", "json_schema": {
    "name": "answer", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}


# -- where each type is served: (provider config, model per capability) --------------------------
# the OpenAI-dialect fake picks its behaviour by model id (tests/fakes/openai_fake.py)
_DIALECT_MODELS = {"tools": "tools", "json_object": "json", "json_schema": "json", "embeddings": "e"}
# the native fakes' models that serve each capability ("*": every other one)
_NATIVE_MODELS: dict[str, dict[str, str]] = {
    "dashscope-native": {"*": "qwen-plus", "tools": "tools", "vision": "qwen-vl-plus",
                         "embeddings": "text-embedding-v3"},
    "qianfan-v1": {"*": "ernie-4.0-8k"},  # the ERNIE 4.0 service takes functions
    "hunyuan-tc3": {"*": "hunyuan-lite", "tools": "hunyuan-functioncall"},
    "spark-ws": {"*": "4.0Ultra"},  # Ultra takes functions
    "minimax-pro": {"*": "abab6.5s-chat"},
    "anthropic": {"*": "claude-echo"},
    "local": {"*": "default"},
}
# media models on the media fakes, by type; "openai" is any OpenAI-shaped media server (SiliconFlow's)
_MEDIA_MODELS: dict[str, dict[str, str]] = {
    "dashscope": {"images": "wanx2.1-t2i-turbo", "speech": "cosyvoice-v2",
                  "transcription": "qwen3-asr-flash", "rerank": "gte-rerank-v2"},
    "siliconflow": {"images": "Kwai-Kolors/Kolors", "speech": "FunAudioLLM/CosyVoice2-0.5B",
                    "transcription": "FunAudioLLM/SenseVoiceSmall", "rerank": "BAAI/bge-reranker-v2-m3"},
    "zhipu": {"images": "cogview-4-250304", "rerank": "rerank"},
    "ark": {"images": "doubao-seedream-3-0-t2i-250415"},
    "minimax": {"speech": "speech-02-turbo"},
}
_MEDIA_MODELS["dashscope-native"] = _MEDIA_MODELS["dashscope"]
# SiliconFlow's images take its own body (image_size, batch_size): an OpenAI-type provider's images
# go to a fake of OpenAI's own endpoint
_MEDIA_MODELS["openai"] = {**_MEDIA_MODELS["siliconflow"], "images": "gpt-image-1"}
_MEDIA_PROVIDER = {("openai", "images"): "openai-images"}
_MEDIA_MODELS["minimax-pro"] = _MEDIA_MODELS["minimax"]
# SiliconFlow's speech takes its own "model:voice" names, which an OpenAI-type provider passes on
_VOICE = {"openai": "FunAudioLLM/CosyVoice2-0.5B:alex"}

MEDIA_CAPS = {"images", "speech", "transcription", "rerank"}
# the Files + Batches fakes (tests/fakes/batch_fake.py), by type: (flavour, base path)
_BATCH_FAKES = {"dashscope": ("dashscope", "/compatible-mode/v1"), "zhipu": ("zhipu", "/api/paas/v4"),
                "siliconflow": ("siliconflow", "/v1"), "openai": ("openai", "/v1")}


def model_for(provider_type: str, capability: str) -> str:
    """The ``provider/model`` a case asks; a case this file has no fake for fails."""
    try:
        if capability == "batch":
            _BATCH_FAKES[provider_type]  # a type without a batch fake fails its case (KeyError)
            return f"{provider_type}-batch/m"
        if capability in MEDIA_CAPS:
            provider = _MEDIA_PROVIDER.get((provider_type, capability), f"{provider_type}-media")
            return f"{provider}/{_MEDIA_MODELS[provider_type][capability]}"
        if DESCRIPTORS[provider_type].protocol == "openai":
            return f"{provider_type}/{_DIALECT_MODELS.get(capability, 'm')}"
        models = _NATIVE_MODELS[provider_type]
        return f"{provider_type}/{models.get(capability, models['*'])}"
    except KeyError:
        pytest.fail(f"{provider_type} advertises {capability} but no fake here serves it: "
                    "add one, or take the capability out of its descriptor")


class Fakes:
    """Every fake on loopback, and the provider config of each type (media ones as ``<type>-media``)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.servers: list[AioServer] = []
        oa = self._start(openai_fake.FakeOpenAI().app)
        ds, qf = self._start(dashscope_fake.FakeDashScope().app), self._start(qianfan_fake.FakeQianfan().app)
        hy, mm = self._start(hunyuan_fake.FakeHunyuan().app), self._start(minimax_fake.FakeMiniMax().app)
        sp = self._start(spark_fake.FakeSpark().app).url.replace("http://", "ws://")
        an = self._start(anthropic_fake.FakeAnthropic().app)
        oi = self._start(openai_images_fake.FakeOpenAIImages().app)
        m = {
            "dashscope": self._start(dashscope_media_fake.FakeDashScopeMedia().app).url,
            "siliconflow": self._start(siliconflow_media_fake.FakeSiliconFlowMedia().app).url,
            "zhipu": self._start(zhipu_media_fake.FakeZhipuMedia().app).url,
            "ark": self._start(ark_media_fake.FakeArkMedia().app).url,
            "minimax": self._start(minimax_media_fake.FakeMiniMaxMedia().app).url,
        }
        providers: dict[str, dict[str, Any]] = {
            t: {"type": t, "base_url": f"{oa.url}/v1", "api_key": openai_fake.API_KEY}
            for t, d in DESCRIPTORS.items() if d.protocol == "openai"
        }
        providers |= {
            "dashscope-native": {"type": "dashscope-native", "base_url": ds.url,
                                 "api_key": dashscope_fake.API_KEY},
            "qianfan-v1": {"type": "qianfan-v1", "base_url": qf.url, "api_key": qianfan_fake.API_KEY,
                           "secret_key": qianfan_fake.SECRET_KEY},
            "hunyuan-tc3": {"type": "hunyuan-tc3", "base_url": hy.url, "secret_id": hunyuan_fake.SECRET_ID,
                            "secret_key": hunyuan_fake.SECRET_KEY},
            "spark-ws": {"type": "spark-ws", "base_url": sp, "app_id": spark_fake.APP_ID,
                         "api_key": spark_fake.API_KEY, "api_secret": spark_fake.API_SECRET},
            "minimax-pro": {"type": "minimax-pro", "base_url": mm.url, "api_key": minimax_fake.API_KEY,
                            "group_id": minimax_fake.GROUP_ID},
            "anthropic": {"type": "anthropic", "base_url": f"{an.url}/anthropic",
                          "api_key": anthropic_fake.API_KEY},
            "local": {"type": "local", "n_ctx": 512},
            # media: the chat config's base, as a user writes it
            "dashscope-media": {"type": "dashscope", "base_url": f"{m['dashscope']}/compatible-mode/v1",
                                "api_key": dashscope_media_fake.API_KEY},
            "dashscope-native-media": {"type": "dashscope-native", "base_url": m["dashscope"],
                                       "api_key": dashscope_media_fake.API_KEY},
            "siliconflow-media": {"type": "siliconflow", "base_url": f"{m['siliconflow']}/v1",
                                  "api_key": siliconflow_media_fake.API_KEY},
            "openai-media": {"type": "openai", "base_url": f"{m['siliconflow']}/v1",
                             "api_key": siliconflow_media_fake.API_KEY},
            "openai-images": {"type": "openai", "base_url": f"{oi.url}/v1",
                              "api_key": openai_images_fake.API_KEY},
            "zhipu-media": {"type": "zhipu", "base_url": f"{m['zhipu']}/api/paas/v4",
                            "api_key": zhipu_media_fake.API_KEY},
            "ark-media": {"type": "ark", "base_url": f"{m['ark']}/api/v3", "api_key": ark_media_fake.API_KEY},
            "minimax-media": {"type": "minimax", "base_url": f"{m['minimax']}/v1",
                              "api_key": minimax_media_fake.API_KEY, "group_id": "g-42"},
            "minimax-pro-media": {"type": "minimax-pro", "base_url": m["minimax"],
                                  "api_key": minimax_media_fake.API_KEY, "group_id": "g-42"},
        }
        for t, (flavor, base) in _BATCH_FAKES.items():
            bf = self._start(batch_fake.FakeBatches(flavor, complete_after=1).app)
            providers[f"{t}-batch"] = {"type": t, "base_url": bf.url + base, "api_key": batch_fake.API_KEY}
        self.providers = providers

    def _start(self, app: web.Application) -> AioServer:
        server = AioServer(app, "capability-fake")
        self.servers.append(server)
        return server

    def stop(self) -> None:
        for s in self.servers:
            s.stop()


class Client:
    def __init__(self, g: Gateway, clip: Path) -> None:
        self.g, self.clip = g, clip
        self.sdk = strict_client(g)


def _chat(c: Client, model: str, **kw: Any) -> Any:
    return c.sdk.chat.completions.create(model=model, messages=kw.pop("messages", _USER), **kw).choices


def _logprobs(c: Client, model: str) -> Any:
    """The logprobs the upstream sent, not merely an answer (the fake sends them only when asked)."""
    lp = _chat(c, model, logprobs=True)[0].logprobs
    return lp.content if lp is not None else None


def _speech(c: Client, model: str) -> bytes:
    voice = _VOICE.get(model.split("/", 1)[0].removesuffix("-media"), "alloy")
    return c.sdk.audio.speech.create(model=model, voice=voice, input="hello there").content


def _transcribe(c: Client, model: str) -> str:
    with c.clip.open("rb") as f:
        return c.sdk.audio.transcriptions.create(model=model, file=f).text


def _rerank(c: Client, model: str) -> list[Any]:
    r = httpx.post(f"{c.g.base_url}/rerank", headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30,
                   json={"model": model, "query": "what is a reranker",
                         "documents": ["a cat", "a reranker orders documents"]})
    r.raise_for_status()
    results: list[Any] = r.json()["results"]
    return results


def _batch(c: Client, model: str) -> bytes:
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": model, "messages": _USER}}
    f = c.sdk.files.create(file=("in.jsonl", json.dumps(line).encode()), purpose="batch")
    b = c.sdk.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
    for _ in range(10):
        b = c.sdk.batches.retrieve(b.id)
        if b.status == "completed" and b.output_file_id:
            return c.sdk.files.content(b.output_file_id).content
    return b""


# each capability, asked of a model; the result must be non-empty
CALLS: dict[str, Callable[[Client, str], object]] = {
    "chat": lambda c, m: _chat(c, m)[0].message.content,
    "streaming": lambda c, m: "".join(
        ch.choices[0].delta.content or "" for ch in c.sdk.chat.completions.create(
            model=m, messages=_USER, stream=True) if ch.choices),
    "completions": lambda c, m: c.sdk.completions.create(model=m, prompt="hello").choices[0].text,
    "responses": lambda c, m: c.sdk.responses.create(model=m, input="hello").output_text,
    "tools": lambda c, m: _chat(c, m, messages=_ASK_TOOL, tools=[_TOOL])[0].message.tool_calls,
    "json_object": lambda c, m: _chat(c, m, response_format={"type": "json_object"})[0].message.content,
    "json_schema": lambda c, m: _chat(c, m, response_format=_SCHEMA)[0].message.content,
    "n": lambda c, m: _chat(c, m, n=2)[1].message.content,
    "logprobs": _logprobs,
    # the fakes answer an image they received as "[image]": the image reached the upstream
    "vision": lambda c, m: "[image]" in (_chat(c, m, messages=_IMAGE)[0].message.content or ""),
    "embeddings": lambda c, m: c.sdk.embeddings.create(
        model=m, input="hello", encoding_format="float").data[0].embedding,
    "images": lambda c, m: c.sdk.images.generate(model=m, prompt="a kite").data,
    "speech": _speech,
    "transcription": _transcribe,
    "rerank": _rerank,
    "batch": _batch,
}

CASES = [(t, cap) for t in sorted(DESCRIPTORS) for cap in sorted(DESCRIPTORS[t].capabilities)]


def test_every_capability_name_has_a_call() -> None:
    assert set(CALLS) == set(CAPABILITIES)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    tmp = tmp_path_factory.mktemp("caps")
    fakes = Fakes(tmp)
    clip = tmp / "clip.wav"
    clip.write_bytes(wav(1.0))
    try:
        g = Gateway({
            "server": {"master_key": MASTER_KEY},
            "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
            "routing": {"retries": 0, "presets": False, "circuit": {"failures": 1000}},
            "providers": fakes.providers,
        })
        try:
            yield Client(g, clip)
        finally:
            g.stop()
    finally:
        fakes.stop()


@pytest.mark.parametrize(("provider_type", "capability"), CASES)
def test_each_advertised_capability_is_served(client: Client, provider_type: str, capability: str) -> None:
    assert CALLS[capability](client, model_for(provider_type, capability))
