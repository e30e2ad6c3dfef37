"""OpenAI's tokenizers for token-id input: shipped with a package, used with no network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from banjia import tokens


def test_cl100k_ids_decode_to_their_text() -> None:
    assert tokens.decode([15339, 1917], "text-embedding-ada-002") == "hello world"
    assert tokens.decode([57668, 53901], "text-embedding-3-small") == "你好"


def test_o200k_models_decode_with_o200k() -> None:
    assert tokens.decode([24912, 2375], "gpt-4o-mini") == "hello world"
    assert tokens.decode([177519], "o3") == "你好"


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("text-embedding-3-large", "cl100k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("qwen/embed", "cl100k_base"),
        ("gpt-4o", "o200k_base"),
        ("gpt-4.1-mini", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("o1-preview", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("o1x", "cl100k_base"),
    ],
)
def test_the_encoding_follows_the_model(model: str, encoding: str) -> None:
    assert tokens.encoding_for(model) == encoding


def test_an_id_outside_the_vocabulary_raises_key_error_naming_it() -> None:
    with pytest.raises(KeyError) as e:
        tokens.decode([15339, 100_277], "text-embedding-3-small")
    assert e.value.args[0] == 100_277


def test_decoding_works_offline_with_an_empty_tiktoken_cache(tmp_path: Path) -> None:
    # a fresh interpreter where any network use fails, and tiktoken's cache is empty
    code = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from banjia import tokens\n"
        "print(tokens.decode([15339, 1917], 'text-embedding-3-small'))\n"
        "print(tokens.decode([24912, 2375], 'gpt-4o'))\n"
    )
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tmp_path), "DATA_GYM_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.splitlines() == ["hello world", "hello world"]
    assert not any(tmp_path.iterdir())
