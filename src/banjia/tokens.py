"""Local token estimates, used only when an upstream reports no usage (the ledger flags them).

CJK text runs close to one token per character on the BPE vocabularies of Qwen, GLM, ERNIE and
OpenAI's o200k; other text about four characters per token.
"""

from __future__ import annotations

from typing import Any

__all__ = ["estimate_messages", "estimate_text"]


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
