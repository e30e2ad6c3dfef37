"""The media fakes (DashScope, SiliconFlow, Zhipu, Ark, MiniMax) on loopback and one banjia gateway
in front of them, with a SQLite store so every request leaves its ledger row."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import strict_client
from tests.fakes import (
    ark_media_fake,
    dashscope_media_fake,
    minimax_media_fake,
    siliconflow_media_fake,
    zhipu_media_fake,
)
from tests.fakes.ark_media_fake import FakeArkMedia
from tests.fakes.dashscope_media_fake import FakeDashScopeMedia
from tests.fakes.minimax_media_fake import FakeMiniMaxMedia
from tests.fakes.siliconflow_media_fake import FakeSiliconFlowMedia
from tests.fakes.zhipu_media_fake import FakeZhipuMedia
from tests.harness import MASTER_KEY, AioServer, Gateway

# the bound an asynchronous image task of the "dsfast" provider gets (its timeouts.first_byte)
TASK_BOUND = 1.5


@dataclass
class Fakes:
    dashscope: FakeDashScopeMedia
    siliconflow: FakeSiliconFlowMedia
    zhipu: FakeZhipuMedia
    ark: FakeArkMedia
    minimax: FakeMiniMaxMedia
    urls: dict[str, str]


@pytest.fixture(scope="session")
def fakes() -> Iterator[Fakes]:
    made = {
        "dashscope": FakeDashScopeMedia(),
        "siliconflow": FakeSiliconFlowMedia(),
        "zhipu": FakeZhipuMedia(),
        "ark": FakeArkMedia(),
        "minimax": FakeMiniMaxMedia(),
    }
    servers = {name: AioServer(f.app, f"{name}-media-fake") for name, f in made.items()}
    yield Fakes(**made, urls={name: s.url for name, s in servers.items()})  # type: ignore[arg-type]
    for s in servers.values():
        s.stop()


def media_config(f: Fakes, tmp: Path, **overrides: Any) -> dict[str, Any]:
    u = f.urls
    cfg: dict[str, Any] = {
        "server": {"master_key": MASTER_KEY},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
        # one try per entry, and circuits that stay closed: each test sees exactly its own calls
        "routing": {"retries": 0, "circuit": {"failures": 1000}},
        "providers": {
            # the compatible-mode base, as a chat config has it: media goes to the native paths
            "ds": {"type": "dashscope", "base_url": f"{u['dashscope']}/compatible-mode/v1",
                   "api_key": dashscope_media_fake.API_KEY},
            "dsfast": {"type": "dashscope-native", "base_url": u["dashscope"],
                       "api_key": dashscope_media_fake.API_KEY,
                       "timeouts": {"first_byte": TASK_BOUND}},
            "sf": {"type": "siliconflow", "base_url": f"{u['siliconflow']}/v1",
                   "api_key": siliconflow_media_fake.API_KEY},
            "zp": {"type": "zhipu", "base_url": f"{u['zhipu']}/api/paas/v4",
                   "api_key": zhipu_media_fake.API_KEY},
            "ark": {"type": "ark", "base_url": f"{u['ark']}/api/v3", "api_key": ark_media_fake.API_KEY,
                    "endpoints": {"seedream": "doubao-seedream-3-0-t2i-250415"}},
            "mm": {"type": "minimax", "base_url": f"{u['minimax']}/v1", "api_key": minimax_media_fake.API_KEY,
                   "group_id": "g-42"},
            # serves no media at all: a chain through it moves on without calling it
            "deepseek": {"type": "deepseek", "base_url": "http://127.0.0.1:9/v1", "api_key": "unused"},
        },
        "models": {
            "images-fallback": ["deepseek/deepseek-chat", "sf/Kwai-Kolors/Kolors"],
            "slow-then-sf": ["dsfast/wanx2.1-t2i-turbo", "sf/Kwai-Kolors/Kolors"],
            "speech-fallback": ["ds/cosyvoice-v2", "mm/speech-02-turbo"],
            "whisper-1": ["ds/qwen3-asr-flash", "sf/FunAudioLLM/SenseVoiceSmall"],
        },
    }
    cfg.update(overrides)
    return cfg


@pytest.fixture(scope="session")
def media_gateway(fakes: Fakes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    g = Gateway(media_config(fakes, tmp_path_factory.mktemp("media")))
    yield g
    g.stop()


@pytest.fixture(scope="session")
def client(media_gateway: Gateway) -> openai.OpenAI:
    return strict_client(media_gateway)
