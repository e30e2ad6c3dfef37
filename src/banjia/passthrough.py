"""Anthropic's Messages API to an upstream that speaks it: passed through, not translated.

A ``/v1/messages`` request whose chain entry is an Anthropic-speaking provider (type ``anthropic``:
:attr:`~banjia.providers.Provider.speaks_messages`) reaches it as the client sent it, with only the
model name, the credentials and the vendor's quirks changed (:meth:`AnthropicAdaptor.passthrough_body
<banjia.adaptors.anthropic.AnthropicAdaptor.passthrough_body>`); the answer, a message object or every
stream event, reaches the client as the upstream sent it, with ``model`` the name the client asked
for. So ``cache_control``, thinking blocks and their signatures, ``redacted_thinking``, server tools
and fields banjia has never heard of survive. Every other entry of the chain is served over chat
(:mod:`banjia.messages`), so a fallback may still cross protocol families before the first byte.

Here: what the gateway needs for that (:class:`MessagesCall`, the stream's :class:`MessagesRelay`,
the chat view of a message for the ledger), and, for OpenAI clients served by an Anthropic-speaking
entry, the signatures that let thinking go back on the next tool turn (:class:`SignatureTap`,
:func:`signed_history`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from banjia.adaptors.anthropic import SIGNATURE, chat_completion, chat_usage
from banjia.errors import APIError, UpstreamError
from banjia.protocol._base import validate
from banjia.protocol.chat import ChatRequest
from banjia.reasoning import ReasoningStore
from banjia.streaming import Shaper

__all__ = [
    "MESSAGE",
    "MessagesCall",
    "MessagesRelay",
    "SignatureTap",
    "chat_result",
    "pop_signature",
    "signed_history",
]

# the key of a chat result under which the upstream's own message object travels to the route
MESSAGE = "__anthropic_message__"


@dataclass(frozen=True, slots=True)
class MessagesCall:
    """A ``/v1/messages`` request as the client sent it, for the entries that can take it whole."""

    body: dict[str, Any]  # the client's JSON object (validated; never re-encoded from the model)
    beta: str | None = None  # the client's anthropic-beta header, passed on
    # why the request has no chat form (a server tool, a PDF, a block chat has no words for):
    # only an Anthropic-speaking entry may serve it, and the others refuse it with this
    untranslatable: APIError | None = None

    def refuse(self, provider: str) -> UpstreamError:
        """The refusal of an entry that cannot pass the request through and cannot translate it:
        the next entry may serve it; the client sees the reason only if none can."""
        e = self.untranslatable
        assert e is not None
        return UpstreamError.unsupported(provider, e.message, param=e.param)


def chat_result(message: dict[str, Any], model: str) -> dict[str, Any]:
    """A passed-through message object → the chat result the gateway records (usage with the
    cache reads and writes, the text for prompt capture), carrying the message under
    :data:`MESSAGE` for the route."""
    result = chat_completion(message, model)
    result[MESSAGE] = message
    return result


def pop_signature(result: dict[str, Any]) -> str | None:
    """Take the thinking's signature out of a chat result (clients never see it)."""
    choices = result.get("choices") or ()
    msg = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
    sig = msg.pop(SIGNATURE, None) if isinstance(msg, dict) else None
    return sig if isinstance(sig, str) and sig else None


class MessagesRelay:
    """The shaper of a passed-through stream: the upstream's events go out as they came (the
    message's ``model`` renamed to the client's). ``message_start`` and ``ping`` are held until
    the first content event, so that an upstream failing right after it still falls back; the
    usage (cache tokens included) and the text are kept for the ledger; a stream that ends
    without ``message_stop`` was cut, and the client gets an error event, never a clean end."""

    def __init__(self, *, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self._usage: dict[str, Any] = {}
        self._text: list[str] = []
        self._held: list[dict[str, Any]] | None = []  # None once the first content event is out

    @property
    def usage(self) -> dict[str, Any] | None:
        return chat_usage(self._usage) if self._usage else None

    @property
    def text(self) -> str:
        return "".join(self._text)

    def _count(self, u: Any) -> None:
        if isinstance(u, dict):  # message_delta's figures are cumulative: the last one counts
            self._usage.update({k: v for k, v in u.items() if isinstance(v, int) and not isinstance(v, bool)})

    def feed(self, fragment: dict[str, Any]) -> list[dict[str, Any]]:
        kind = fragment.get("type")
        if kind == "content_block_delta":
            delta = fragment.get("delta")
            if isinstance(delta, dict) and delta.get("type") == "text_delta":
                self._text.append(str(delta.get("text") or ""))
        elif kind == "message_start":
            msg = fragment.get("message")
            if isinstance(msg, dict):
                msg["model"] = self.model
                self._count(msg.get("usage"))
        elif kind == "message_delta":
            self._count(fragment.get("usage"))
        held = self._held
        if held is None:
            return [fragment]
        held.append(fragment)
        if kind in ("message_start", "ping"):
            return []
        self._held = None
        return held

    def finish(self, *, done_seen: bool) -> list[dict[str, Any]]:
        if not done_seen:
            raise UpstreamError.broken(self.provider, "the stream was cut off before the answer was complete")
        held, self._held = self._held or [], None
        return held

    def tool_turns(self) -> list[tuple[list[str], str]]:
        return []  # an Anthropic client sends its thinking blocks back itself


class SignatureTap:
    """A chat stream's shaper (:class:`~banjia.streaming.ChatStreamNormalizer`) for an
    Anthropic-speaking upstream: takes the thinking's signature out of the fragments (the
    adaptor sends it as a fragment of its own) so that it is kept beside the reasoning."""

    __slots__ = ("inner", "signature")

    def __init__(self, inner: Shaper) -> None:
        self.inner = inner
        self.signature: str | None = None

    @property
    def usage(self) -> dict[str, Any] | None:
        return self.inner.usage

    @property
    def text(self) -> str:
        return self.inner.text

    def feed(self, fragment: dict[str, Any]) -> list[dict[str, Any]]:
        sig = fragment.get(SIGNATURE)
        if sig is not None:
            self.signature = sig if isinstance(sig, str) and sig else None
            return []
        return self.inner.feed(fragment)

    def finish(self, *, done_seen: bool) -> list[dict[str, Any]]:
        return self.inner.finish(done_seen=done_seen)

    def tool_turns(self) -> list[tuple[list[str], str]]:
        return self.inner.tool_turns()


async def signed_history(req: ChatRequest, store: ReasoningStore, scope: str) -> ChatRequest:
    """``req`` as an Anthropic-speaking upstream must receive it. With thinking on, Anthropic
    refuses a tool loop in progress unless its assistant turn starts with the thinking it
    produced, signature and all. OpenAI clients send back the text at best: the turn gets its
    reasoning and signature from the store, when the store has them for its calls and the text
    the client kept (if any) is the one that was signed. Only the open tool turn matters
    (Anthropic drops earlier turns' thinking), so this is one look-up per request; a turn it
    cannot sign goes without thinking (the adaptor's rule)."""
    messages = req.wire().get("messages")
    if not isinstance(messages, list) or not messages:
        return req
    i = len(messages) - 1
    while i >= 0 and isinstance(messages[i], dict) and messages[i].get("role") == "tool":
        i -= 1
    if i == len(messages) - 1 or i < 0:
        return req  # no tool results at the end: no tool loop in progress
    turn = messages[i]
    if not isinstance(turn, dict) or turn.get("role") != "assistant" or not turn.get("tool_calls"):
        return req
    calls = [str(c.get("id") or "") for c in turn["tool_calls"] if isinstance(c, dict)]
    known = await store.get_signed(scope, calls)
    sent = turn.get("reasoning_content")
    if known is None or (sent is not None and sent != known[0]):
        return req
    fixed = list(messages)
    fixed[i] = {**turn, "reasoning_content": known[0], SIGNATURE: known[1]}
    return validate(ChatRequest, {**req.wire(), "messages": fixed})
