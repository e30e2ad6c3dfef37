"""The servers under test and how each is started: the fake upstream, banjia (1 and N workers, and
1 worker without the store), and LiteLLM's proxy, all pointed at the same fake.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench.install import litellm_bin

__all__ = [
    "BANJIA_KEY",
    "LITELLM_KEY",
    "MODEL",
    "Target",
    "alt_argv",
    "banjia_argv",
    "banjia_config",
    "baseline_argv",
    "chat_body",
    "fake_argv",
    "litellm_argv",
    "litellm_config",
    "nostore_argv",
]

MODEL = "bench-model"
BANJIA_KEY = "sk-bench-master-0123456789"
LITELLM_KEY = "sk-bench-litellm-0123456789"
CHAT_PATH = "/v1/chat/completions"
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    """A server a scenario can be aimed at."""

    name: str  # "direct", "banjia-1w", …
    label: str  # the column title
    port: int
    headers: dict[str, str]


def chat_body(*, stream: bool, model: str = MODEL, max_tokens: int = 64, content: str = "Say hello.",
              temperature: float | None = None, include_usage: bool = False) -> bytes:
    body: dict[str, object] = {"model": model, "messages": [{"role": "user", "content": content}],
                               "max_tokens": max_tokens}
    if stream:
        body["stream"] = True
        if include_usage:
            body["stream_options"] = {"include_usage": True}
    if temperature is not None:
        body["temperature"] = temperature
    return orjson.dumps(body)


def fake_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "bench.fake", "--port", str(port)]


def banjia_config(port: int, fake_port: int, db: Path, workers: int, n_threads: int) -> str:
    """The bench's banjia config (JSON is YAML): the fake as an ``openai`` provider, a master key,
    the store in a temporary SQLite file, and the bundled local model for the tokens/s scenario."""
    return orjson.dumps(
        {
            "server": {"host": "127.0.0.1", "port": port, "master_key": BANJIA_KEY, "workers": workers,
                       "access_log": False},
            "store": {"url": f"sqlite:///{db}"},
            "providers": {
                "fake": {"type": "openai", "base_url": f"http://127.0.0.1:{fake_port}/v1",
                         "api_key": "sk-fake"},
                "local": {"type": "local", "n_ctx": 4096, "n_threads": n_threads},
            },
            "models": {MODEL: [f"fake/{MODEL}"]},
        },
        option=orjson.OPT_INDENT_2,
    ).decode()


def banjia_argv(config: Path, port: int, workers: int) -> list[str]:
    exe = Path(sys.executable).with_name("banjia")
    return [str(exe), "serve", "--config", str(config), "--port", str(port), "--workers", str(workers),
            "--log-level", "warning"]


def baseline_argv(config: Path, port: int) -> list[str]:
    """``banjia serve``, 1 worker, from whatever tree ``PYTHONPATH`` puts first."""
    code = "import sys; from banjia.cli import main; sys.exit(main())"
    return [sys.executable, "-c", code, "serve", "--config", str(config), "--port", str(port),
            "--workers", "1", "--log-level", "warning"]


def alt_argv(transport: str, config: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "bench.alt", transport, "serve", "--config", str(config),
            "--port", str(port), "--workers", "1", "--log-level", "warning"]


def nostore_argv(config: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "bench.nostore", "--config", str(config), "--port", str(port)]


def litellm_config(fake_port: int) -> str:
    return orjson.dumps(
        {
            "model_list": [
                {
                    "model_name": MODEL,
                    "litellm_params": {"model": f"openai/{MODEL}", "api_base": f"http://127.0.0.1:{fake_port}/v1",
                                       "api_key": "sk-fake"},
                }
            ],
            "general_settings": {"master_key": LITELLM_KEY},
            "litellm_settings": {"telemetry": False},
        },
        option=orjson.OPT_INDENT_2,
    ).decode()


# offline: the bundled price map instead of fetching it; no database, no telemetry
LITELLM_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"}


def litellm_argv(config: Path, port: int) -> list[str]:
    return [str(litellm_bin()), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
            "--num_workers", "1"]
