"""Helpers shared by the native adaptors: local stop sequences, and refusing what a native
protocol cannot express with a 400 that names it (never a silent drop)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from banjia.protocol.chat import ChatRequest
from banjia.providers import unsupported
from banjia.vendors import thinking_for

__all__ = ["THINKING_SWITCHES", "StopScanner", "reject_unsupported", "thinking_switch"]


# -- reasoning_effort → a vendor's thinking switch ----------------------------------------------
# OpenAI's ``reasoning_effort`` (chat) / ``reasoning.effort`` (Responses) becomes the vendor's own
# switch in its adaptor, so a fallback chain over several vendors never sends one vendor's fields
# to another. The model is never swapped; vendors not listed get no switch (their models think or
# not as their id says) and the field is not sent to them.
def _deepseek(effort: str, stream: bool) -> dict[str, Any]:
    # thinking: {type} toggles the mode; DeepSeek maps minimal…xhigh onto its own effort levels
    if effort == "none":
        return {"thinking": {"type": "disabled"}}
    return {"thinking": {"type": "enabled"}, "reasoning_effort": effort}


def _dashscope(effort: str, stream: bool) -> dict[str, Any]:
    # Qwen3 (and GLM on DashScope): enable_thinking; DashScope refuses thinking on a call that
    # does not stream, so thinking stays off there whatever the effort
    return {"enable_thinking": stream and effort not in ("none", "minimal")}


def _thinking_type(effort: str, stream: bool) -> dict[str, Any]:
    # Zhipu GLM, Moonshot Kimi K2.x, Volcengine Doubao: thinking: {type: enabled|disabled},
    # no effort levels, so "minimal" means off as OpenAI's lowest setting all but does
    return {"thinking": {"type": "disabled" if effort in ("none", "minimal") else "enabled"}}


def _enable_thinking(effort: str, stream: bool) -> dict[str, Any]:
    # SiliconFlow (Qwen3, GLM and DeepSeek hosted there): enable_thinking, streamed or not
    return {"enable_thinking": effort not in ("none", "minimal")}


# switch kind (a descriptor's ``thinking.switch``, banjia.vendors.table) → its body fields
THINKING_SWITCHES: Mapping[str, Callable[[str, bool], dict[str, Any]]] = {
    "openai": lambda effort, stream: {"reasoning_effort": effort},
    "deepseek": _deepseek,
    "dashscope": _dashscope,
    "thinking_type": _thinking_type,
    "enable_thinking": _enable_thinking,
}


def thinking_switch(vendor_type: str, effort: Any, stream: bool) -> dict[str, Any]:
    """The body fields that stand for ``reasoning_effort`` at this vendor ({} if it has none)."""
    thinking = thinking_for(vendor_type)
    switch = THINKING_SWITCHES.get(thinking.switch) if thinking and thinking.switch else None
    if switch is None or not isinstance(effort, str):
        return {}
    return switch(effort, stream)


class StopScanner:
    """Applies OpenAI ``stop`` to text the upstream produces: the answer ends *before* the first
    stop sequence. For upstreams without a stop parameter (Spark, MiniMax Pro) or whose stop keeps
    the match (Hunyuan). Text that could be the start of a stop sequence is held back until the
    next piece decides it."""

    __slots__ = ("_buf", "_hold", "hit", "stops")

    def __init__(self, stops: list[str] | tuple[str, ...]) -> None:
        self.stops = tuple(s for s in stops if s)
        self._hold = max((len(s) for s in self.stops), default=1) - 1
        self._buf = ""
        self.hit = False

    def feed(self, text: str) -> str:
        """The part of the text seen so far that is safe to emit now."""
        if self.hit:
            return ""
        if not self.stops:
            return text
        buf = self._buf + text
        cut = min((i for i in (buf.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.hit = True
            self._buf = ""
            return buf[:cut]
        keep = min(self._hold, len(buf))
        out, self._buf = buf[: len(buf) - keep], buf[len(buf) - keep :]
        return out

    def flush(self) -> str:
        """The upstream finished: what was held back is answer text after all."""
        out, self._buf = ("" if self.hit else self._buf), ""
        return out

    def cut(self, text: str) -> tuple[str, bool]:
        """A whole answer → (text before the first stop sequence, whether one was found)."""
        out = self.feed(text) + self.flush()
        return out, self.hit


def reject_unsupported(provider: str, req: ChatRequest) -> None:
    """Refuse, with a 400 naming it, what none of the native protocols here can express."""
    if req.n is not None and req.n > 1:
        raise unsupported(provider, "n > 1 (several choices per request)")
    if req.logprobs:
        raise unsupported(provider, "logprobs")
    if req.functions or req.function_call is not None:
        raise unsupported(provider, "the legacy 'functions' parameter; send 'tools' instead")
    fmt = (req.response_format or {}).get("type")
    if fmt not in (None, "text"):
        raise unsupported(provider, f"response_format '{fmt}'")
    for m in req.messages:
        if m.role == "function":
            raise unsupported(provider, "messages with role 'function'; use 'tool' messages")
        content = getattr(m, "content", None)
        if isinstance(content, list) and any(
            isinstance(p, dict) and p.get("type") not in ("text", "input_text") for p in content
        ):
            raise unsupported(provider, "image or audio content parts")
