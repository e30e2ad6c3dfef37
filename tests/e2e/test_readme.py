"""What the READMEs promise, held against the code: the minimal config runs as written under
``banjia serve`` and answers the openai SDK, and every YAML config block, in both languages, passes
the config check ``banjia serve`` runs (the schema and the provider types), so an example cannot
drift from the schema."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml

from banjia.config import parse_config
from banjia.settings import check_providers
from tests.fakes.openai_fake import API_KEY, FakeOpenAI
from tests.harness import MASTER_KEY

ROOT = Path(__file__).resolve().parents[2]
READMES = [ROOT / "README.md", ROOT / "README.zh-CN.md"]
# the comment just above the minimal config's fence, in both READMEs
MINIMAL = "<!-- banjia:minimal-config"
_FENCE = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def yaml_blocks(readme: Path) -> list[tuple[int, str]]:
    """Each fenced YAML block of ``readme``, with the line its fence opens on."""
    text = readme.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in _FENCE.finditer(text)]


def minimal_config(readme: Path) -> str:
    text = readme.read_text(encoding="utf-8")
    at = text.find(MINIMAL)
    assert at >= 0, f"{readme.name}: no '{MINIMAL} …-->' comment above the minimal config"
    m = _FENCE.search(text, at)
    assert m is not None, f"{readme.name}: no YAML block after the minimal-config comment"
    return m.group(1)


def full_example(readme: Path) -> dict[str, Any]:
    """The Configuration section's example: the block with the most providers."""
    configs = [yaml.safe_load(b) for _, b in yaml_blocks(readme)]
    full = max((c for c in configs if isinstance(c, dict) and "providers" in c),
               key=lambda c: len(c["providers"]), default=None)
    assert full is not None, f"{readme.name}: no config example with providers"
    return full


def _block_cases() -> list[Any]:
    return [
        pytest.param(readme, line, block, id=f"{readme.name}:{line}")
        for readme in READMES
        for line, block in yaml_blocks(readme)
    ]


@pytest.mark.parametrize(("readme", "line", "block"), _block_cases())
def test_every_yaml_block_passes_the_config_check(
    readme: Path, line: int, block: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A block is a whole config, or (without ``providers:``) a fragment of the full example: its
    keys replace the example's, so its chains must name the example's providers."""
    data = yaml.safe_load(block)
    assert isinstance(data, dict), f"{readme.name}:{line}: not a YAML mapping"
    if "providers" not in data:
        data = {**full_example(readme), **data}
    for var in set(_VAR.findall(block)) | set(_VAR.findall(yaml.safe_dump(data))):
        monkeypatch.setenv(var, f"dummy-{var.lower()}")
    check_providers(parse_config(data, f"{readme.name}:{line}"))


def test_the_readmes_show_the_same_config_blocks() -> None:
    """The Chinese README keeps the English one's configs: same blocks, same keys and values."""
    english, chinese = ([yaml.safe_load(b) for _, b in yaml_blocks(r)] for r in READMES)
    assert english == chinese
    assert yaml.safe_load(minimal_config(READMES[0])) == yaml.safe_load(minimal_config(READMES[1]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Serve:
    """``banjia serve --config banjia.yaml`` in its own process, in ``cwd``, as the README says."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "banjia", "serve", "--config", "banjia.yaml", "--port", str(self.port)],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # blocks until uvicorn says it serves, or the process ends
            self.lines.append(line)
            if "Application startup complete" in line:
                break
        else:
            raise AssertionError("banjia serve did not start:\n" + self.log())
        # keep reading, so that a full pipe never stalls the server
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def log(self) -> str:
        return "".join(self.lines)[-4000:]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        self.proc.terminate()  # SIGTERM: banjia drains and exits
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture(params=READMES, ids=lambda p: p.name)
def served(
    request: pytest.FixtureRequest, fake: FakeOpenAI, tmp_path: Path
) -> Iterator[tuple[Serve, dict[str, Any]]]:
    """The README's minimal config, its providers' base URL moved to the fake upstream, their key
    variables set to the fake's key, served from an empty directory."""
    block = minimal_config(request.param)
    data = yaml.safe_load(block)
    for provider in data["providers"].values():
        provider["base_url"] = f"{fake.url}/v1"  # type: ignore[attr-defined]
    (tmp_path / "banjia.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "BANJIA_CONFIG"}
    for var in _VAR.findall(block):
        env[var] = MASTER_KEY if var == "BANJIA_MASTER_KEY" else API_KEY
    server = Serve(tmp_path, env)
    yield server, data
    server.stop()


def test_the_minimal_config_serves_a_chat_completion(
    served: tuple[Serve, dict[str, Any]], fake: FakeOpenAI
) -> None:
    server, data = served
    alias, chain = next(iter(data["models"].items()))
    client = openai.OpenAI(
        base_url=server.base_url, api_key=MASTER_KEY, max_retries=0, _strict_response_validation=True
    )
    with client:
        raw = client.chat.completions.with_raw_response.create(
            model=alias, messages=[{"role": "user", "content": "你好"}]
        )
    answer = raw.parse()
    assert answer.choices[0].message.content == "echo: 你好", server.log()
    assert raw.headers["x-banjia-upstream"] == chain[0]
    assert fake.state.requests[-1].body["model"] == chain[0].partition("/")[2]
