"""Provider and model names that cannot go into a header as they are (non-ASCII, control
characters) still give a well-formed answer: ``x-banjia-upstream`` carries them percent-encoded.

They used to give a 500 (``z/模型``) or a connection closed without an answer (NUL, CR/LF, DEL),
after the upstream had answered and been paid, with a ledger row saying 200.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import openai
import pytest

from banjia.server.routes import header_value
from tests.conftest import fake_provider, strict_client
from tests.e2e.ledger_rows import row
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway

# alias → the upstream it names (the fake answers any unknown model name with its echo)
NAMES = {
    "unicode": "z/模型",
    "unicode-provider": "供应商/echo",
    "nul": "z/echo\x00",
    "crlf": "z/echo\r\nx-injected: 1",
    "del": "z/echo\x7f",
    "percent": "z/echo%41 b",
}


@pytest.fixture(scope="module")
def gw(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp: Path = tmp_path_factory.mktemp("names")
    g = Gateway({
        "server": {"master_key": MASTER_KEY},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
        "providers": {"z": fake_provider(fake), "供应商": fake_provider(fake)},
        "models": {alias: [upstream] for alias, upstream in NAMES.items()},
    })
    yield g
    g.stop()


@pytest.fixture(scope="module")
def client(gw: Gateway) -> openai.OpenAI:
    return strict_client(gw)


@pytest.mark.parametrize("alias", list(NAMES))
def test_an_odd_upstream_name_gives_a_well_formed_answer(
    client: openai.OpenAI, gw: Gateway, alias: str
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model=alias, messages=[{"role": "user", "content": "hello there"}]
    )
    answer = raw.parse()
    assert answer.choices[0].message.content == "echo: hello there"
    header = raw.headers["x-banjia-upstream"]
    assert header.isascii() and header.isprintable() and " " not in header
    assert unquote(header) == NAMES[alias]
    assert "x-injected" not in raw.headers
    assert row(gw, raw.headers["x-request-id"])["status"] == 200


@pytest.mark.parametrize("alias", ["unicode", "crlf"])
def test_an_odd_upstream_name_streams(client: openai.OpenAI, alias: str) -> None:
    with client.chat.completions.with_streaming_response.create(
        model=alias, messages=[{"role": "user", "content": "hello there"}], stream=True
    ) as raw:
        assert unquote(raw.headers["x-banjia-upstream"]) == NAMES[alias]
        text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text == "echo: hello there"


def test_plain_names_are_left_as_they_are() -> None:
    assert header_value("deepseek/deepseek-chat") == "deepseek/deepseek-chat"
    assert header_value("z/模型") == "z/%E6%A8%A1%E5%9E%8B"
    assert header_value("a b%") == "a%20b%25"
