"""The prompts ``banjia compare`` replays: the prompts file and the capture format.

Prompts file (``--prompts FILE.jsonl``): one JSON object a line, blank lines and lines starting
with ``#`` ignored::

    {"messages": [{"role": "user", "content": "…"}],   # required, Chat Completions messages
     "reference": "an answer known to be good",        # optional: scored by embedding similarity
     "match": "regex the answer must contain",          # optional: scored 1/0 (re.search)
     "id": "billing-faq-3",                             # optional: defaults to the line number
     "params": {"temperature": 0.2, "max_tokens": 256}} # optional: sent with every replay

Capture format (``--from-capture FILE.jsonl`` or a folder of ``*.jsonl``): prompts captured from
banjia's own traffic, the same shape plus what the gateway knew when it served the request. One
object per served chat request::

    {"id": "req_5f1c…",                      # the request id (x-request-id)
     "captured_at": "2025-05-01T12:00:00Z",  # when it was served (UTC, ISO 8601)
     "model": "gpt-4o",                      # the model the client asked for
     "upstream": "qwen/qwen-plus",           # who served it (x-banjia-upstream)
     "messages": [...],                      # the request's messages, as sent
     "params": {"temperature": 0.2},         # the other request fields worth replaying
     "response": "the answer served",        # the text the client received
     "reference": null, "match": null}       # optional, as in the prompts file

When a captured line has no ``reference``, the served ``response`` becomes the reference: the
candidates are scored on how close they come to what the app gets today. Only ``messages`` is
required; unknown keys are ignored, so the gateway may add fields later.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from banjia.capture import REPLAYED_PARAMS

__all__ = ["REPLAYED_PARAMS", "Prompt", "PromptError", "load_capture", "load_prompts"]


class PromptError(ValueError):
    """A prompts or capture file is malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Prompt:
    id: str
    messages: list[dict[str, Any]]
    reference: str | None = None
    match: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def question(self) -> str:
        """The last user turn as text, for reports and the judge."""
        for m in reversed(self.messages):
            if m.get("role") == "user":
                return content_text(m.get("content"))
        return content_text(self.messages[-1].get("content")) if self.messages else ""


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def _parse_line(obj: Any, where: str, default_id: str, *, capture: bool) -> Prompt:
    if not isinstance(obj, dict):
        raise PromptError(f"{where}: expected a JSON object")
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise PromptError(f"{where}: 'messages' must be a non-empty list of message objects")
    for m in messages:
        if not isinstance(m.get("role"), str):
            raise PromptError(f"{where}: every message needs a 'role'")
    reference = obj.get("reference")
    if reference is None and capture:
        reference = obj.get("response")
    match = obj.get("match")
    for name, value in (("reference", reference), ("match", match)):
        if value is not None and not isinstance(value, str):
            raise PromptError(f"{where}: '{name}' must be a string")
    if match is not None:
        try:
            re.compile(match)
        except re.error as e:
            raise PromptError(f"{where}: 'match' is not a valid regular expression ({e})") from None
    params = obj.get("params") or {}
    if not isinstance(params, dict):
        raise PromptError(f"{where}: 'params' must be an object")
    pid = obj.get("id")
    return Prompt(
        id=str(pid) if pid not in (None, "") else default_id,
        messages=messages,
        reference=reference or None,
        match=match or None,
        params={k: v for k, v in params.items() if k in REPLAYED_PARAMS},
    )


def _read(path: Path, *, capture: bool, prefix: str = "") -> list[Prompt]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise PromptError(f"{path}: cannot read ({e.strerror})") from None
    out: list[Prompt] = []
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(text)
        except ValueError as e:
            raise PromptError(f"{where}: not JSON ({e})") from None
        out.append(_parse_line(obj, where, f"{prefix}{n}", capture=capture))
    return out


def _unique(prompts: list[Prompt], source: Path) -> list[Prompt]:
    seen: set[str] = set()
    for p in prompts:
        if p.id in seen:
            raise PromptError(f"{source}: the id {p.id!r} appears twice")
        seen.add(p.id)
    if not prompts:
        raise PromptError(f"{source}: no prompts")
    return prompts


def load_prompts(path: str | Path) -> list[Prompt]:
    p = Path(path)
    return _unique(_read(p, capture=False), p)


def load_capture(path: str | Path) -> list[Prompt]:
    """A capture file, or every ``*.jsonl`` in a capture folder (in name order)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.jsonl"))
        prompts = [q for f in files for q in _read(f, capture=True, prefix=f"{f.stem}:")]
    else:
        prompts = _read(p, capture=True)
    return _unique(prompts, p)
