"""The Batch API end to end: banjia under uvicorn, the vendor fakes with Files + Batches
(tests/fakes/batch_fake.py) and, for the chains, the OpenAI-dialect fake (which runs no batches).

Providers: ``qwen`` (DashScope compatible mode), ``glm`` (Zhipu, ``/v4`` paths), ``sf``
(SiliconFlow, wrapped file objects), ``vllm`` (any OpenAI-compatible server) on their own fakes,
and ``ds`` (DeepSeek: no batch API). ``gpt-4o`` is ``[ds/deepseek-chat, qwen/qwen-plus]``: a batch
of it runs on qwen, the first entry that runs batches.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest
from sqlalchemy import select

from banjia.store import open_store
from banjia.store.schema import ledger
from tests.conftest import fake_provider, strict_client
from tests.fakes import batch_fake
from tests.fakes.batch_fake import FakeBatches
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, AioServer, Gateway
from tests.store.conftest import config_for, pg_url, store_settings  # noqa: F401  (a fixture)

# CNY per million tokens, and the batch multiplier, for qwen/qwen-plus (the config's override)
INPUT, OUTPUT, BATCH = 2.0, 8.0, 0.5


class Fakes:
    def __init__(self) -> None:
        self.servers: list[AioServer] = []
        self.qwen = self._start(FakeBatches("dashscope"))
        self.glm = self._start(FakeBatches("zhipu"))
        self.sf = self._start(FakeBatches("siliconflow"))
        self.vllm = self._start(FakeBatches("openai"))

    def _start(self, fake: FakeBatches) -> FakeBatches:
        server = AioServer(fake.app, f"batch-fake-{fake.flavor}")
        fake.url = server.url  # type: ignore[attr-defined]
        self.servers.append(server)
        return fake

    def stop(self) -> None:
        for s in self.servers:
            s.stop()


@pytest.fixture(scope="session")
def fakes() -> Iterator[Fakes]:
    f = Fakes()
    yield f
    f.stop()


def url(fake: FakeBatches) -> str:
    return str(fake.url)  # type: ignore[attr-defined]


def batch_config(fakes: Fakes, fake: FakeOpenAI, store: dict[str, Any], **server: Any) -> dict[str, Any]:
    key = batch_fake.API_KEY
    return {
        "server": {"master_key": MASTER_KEY, **server},
        "store": store,
        "routing": {"presets": False, "retries": 0},
        "providers": {
            "qwen": {"type": "dashscope", "base_url": f"{url(fakes.qwen)}/compatible-mode/v1",
                     "api_key": key},
            "glm": {"type": "zhipu", "base_url": f"{url(fakes.glm)}/api/paas/v4", "api_key": key},
            "sf": {"type": "siliconflow", "base_url": f"{url(fakes.sf)}/v1", "api_key": key},
            "vllm": {"type": "openai", "base_url": f"{url(fakes.vllm)}/v1", "api_key": key},
            "ds": fake_provider(fake, "deepseek"),
        },
        "models": {
            "gpt-4o": ["ds/deepseek-chat", "qwen/qwen-plus"],
            "text-embedding-3-small": ["qwen/text-embedding-v4"],
            "realtime-only": ["ds/deepseek-chat"],
        },
        "pricing": {"qwen/qwen-plus": {"input": INPUT, "output": OUTPUT, "batch": BATCH}},
    }


@pytest.fixture(scope="session")
def gw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("batches")


@pytest.fixture(scope="session")
def gw(fakes: Fakes, fake: FakeOpenAI, gw_dir: Path) -> Iterator[Gateway]:
    g = Gateway(batch_config(fakes, fake, {"url": f"sqlite:///{gw_dir / 'banjia.db'}"},
                             max_upload_mb=0.05))
    yield g
    g.stop()


def sdk(g: Gateway, key: str = MASTER_KEY) -> openai.OpenAI:
    return strict_client(g, key)


def create_key(g: Gateway, **body: Any) -> str:
    r = httpx.post(g.root + "/admin/keys", json={"name": "app", **body}, timeout=30,
                   headers={"Authorization": f"Bearer {MASTER_KEY}"})
    assert r.status_code == 201, r.text
    key: str = r.json()["key"]
    return key


def words(n: int, start: int = 0) -> str:
    return " ".join(f"w{i}" for i in range(start, start + n))


def chat_line(cid: str, model: str, text: str, url: str = "/v1/chat/completions") -> dict[str, Any]:
    return {"custom_id": cid, "method": "POST", "url": url,
            "body": {"model": model, "messages": [{"role": "user", "content": text}]}}


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(x) + b"\n" for x in lines)


def until_done(client: openai.OpenAI, batch_id: str, tries: int = 20) -> Any:
    for _ in range(tries):
        b = client.batches.retrieve(batch_id)
        if b.status in ("completed", "failed", "expired", "cancelled"):
            return b
        time.sleep(0.05)
    raise AssertionError(f"batch {batch_id} did not finish: {b.status}")


def run_batch(client: openai.OpenAI, lines: list[dict[str, Any]],
              endpoint: str = "/v1/chat/completions") -> Any:
    f = client.files.create(file=("in.jsonl", jsonl(lines)), purpose="batch")
    b = client.batches.create(input_file_id=f.id, endpoint=endpoint,  # type: ignore[arg-type]
                              completion_window="24h")
    return until_done(client, b.id)


async def ledger_rows(db_url: str, batch_id: str) -> list[dict[str, Any]]:
    """The ledger rows of a batch's lines (``<batch id>-<line>``), by line."""
    store = await open_store(config_for(db_url), background=False)
    try:
        async with store.db.read() as conn:
            rows = (await conn.execute(select(ledger).where(
                ledger.c.request_id.like(f"{batch_id}-%")))).all()
    finally:
        await store.aclose()
    return sorted((dict(r._mapping) for r in rows), key=lambda r: int(r["request_id"].rsplit("-", 1)[1]))


def read_rows(db_url: str, batch_id: str) -> list[dict[str, Any]]:
    from tests.store.conftest import blocking

    return blocking(ledger_rows(db_url, batch_id))
