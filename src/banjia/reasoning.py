"""Reasoning kept across tool turns: the replay store and the history repair.

DeepSeek's thinking mode, Kimi K2.x thinking and GLM-5 / GLM-4.7 thinking answer a tool call with
``reasoning_content`` and refuse (HTTP 400) a later request whose assistant tool-call message no
longer carries it (https://api-docs.deepseek.com/guides/thinking_mode). Most agent frameworks
rebuild the history without the field. banjia served the first answer, so it remembers the
reasoning under each tool call's id and puts it back before the next request goes upstream.

Per vendor (its descriptor's ``Thinking.replay`` / ``Thinking.unknown``, :mod:`banjia.vendors`):

- a vendor that requires the reasoning back gets it restored from the store; what the client sent
  itself is forwarded unchanged, never doubled;
- when the store does not know it (expired, or another gateway served that turn) the vendor gets
  what it accepts instead: thinking switched off for that turn (DeepSeek, Zhipu) or an empty
  ``reasoning_content`` (Moonshot), or the turn as it is (MiniMax, which loses that chain of
  thought but refuses nothing); a model family whose rule differs (``Thinking.unknown_by_family``:
  Kimi K2.5/K2.6 switch thinking off) gets its own from the adaptor, which knows the model;
- MiniMax carries reasoning in ``reasoning_details``: its adaptor turns the history's
  ``reasoning_content`` into that field and its answers back into ``reasoning_content``;
- every other vendor gets ``reasoning_content`` removed from the history, so a fallback chain
  that mixes thinking and non-thinking vendors never hands one vendor's fields to another.

The reasoning is a prompt: it is never logged. Entries are bounded by a TTL and, in the process,
by a count; with ``store.redis_url`` they are also written to Redis, so any replica can replay.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from banjia.adaptors._shared import thinking_switch
from banjia.protocol._base import validate
from banjia.protocol.chat import ChatRequest
from banjia.vendors import thinking_for

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from banjia.config import Config

__all__ = ["ReasoningStore", "build_reasoning", "repair_history", "tool_turns"]

log = logging.getLogger("banjia.reasoning")

DEFAULT_TTL = 3600.0
DEFAULT_MAX_ENTRIES = 10_000


class ReasoningStore:
    """Tool call id → the reasoning served with it. In process (TTL + LRU count), and in Redis
    when one is given (TTL only: Redis evicts by its own policy)."""

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        redis: Redis | None = None,
        prefix: str = "banjia:reasoning:",
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.redis = redis
        self.prefix = prefix
        self._local: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def _key(self, scope: str, call_id: str) -> str:
        # scoped by API key: a call id seen by one key never unlocks reasoning served to another
        return f"{scope}\x1f{call_id}"

    async def put(self, scope: str, call_ids: Iterable[str], reasoning: str) -> None:
        keys = [self._key(scope, c) for c in call_ids if c]
        if not keys or not reasoning:
            return
        expires = time.monotonic() + self.ttl
        for k in keys:
            self._local[k] = (expires, reasoning)
            self._local.move_to_end(k)
        while len(self._local) > self.max_entries:
            self._local.popitem(last=False)
        if self.redis is not None:
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for k in keys:
                        pipe.set(self.prefix + k, reasoning, px=max(1, int(self.ttl * 1000)))
                    await pipe.execute()
            except Exception as e:  # Redis down: this replica still replays from memory
                log.warning("reasoning store: Redis write failed (%s)", type(e).__name__)

    async def get(self, scope: str, call_ids: Sequence[str]) -> str | None:
        """The reasoning served with any of these calls, or None if it is not (or no longer) known."""
        now = time.monotonic()
        keys = [self._key(scope, c) for c in call_ids if c]
        for k in keys:
            hit = self._local.get(k)
            if hit is None:
                continue
            if hit[0] < now:
                del self._local[k]
                continue
            return hit[1]
        if self.redis is None or not keys:
            return None
        try:
            values = await self.redis.mget([self.prefix + k for k in keys])
        except Exception as e:
            log.warning("reasoning store: Redis read failed (%s)", type(e).__name__)
            return None
        for v in values:
            if v is not None:
                return v.decode() if isinstance(v, bytes) else str(v)
        return None

    # The signature an Anthropic-speaking upstream gave the reasoning (its thinking block's) is
    # kept beside it, under the same calls marked: thinking goes back to such an upstream only
    # with it (banjia.passthrough.signed_history).
    _SIGNED = "\x1esignature\x1e"

    async def put_signed(
        self, scope: str, call_ids: Iterable[str], reasoning: str, signature: str | None
    ) -> None:
        """:meth:`put`, and the reasoning's ``signature`` beside it when there is one."""
        ids = [c for c in call_ids if c]
        await self.put(scope, ids, reasoning)
        if signature and reasoning:
            await self.put(scope, [self._SIGNED + c for c in ids], signature)

    async def get_signed(self, scope: str, call_ids: Sequence[str]) -> tuple[str, str] | None:
        """(reasoning, signature) served with any of these calls, or None unless both are known."""
        ids = [c for c in call_ids if c]
        signature = await self.get(scope, [self._SIGNED + c for c in ids])
        if signature is None:
            return None
        reasoning = await self.get(scope, ids)
        return None if reasoning is None else (reasoning, signature)

    async def aclose(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


def tool_turns(result: dict[str, Any]) -> list[tuple[list[str], str]]:
    """(tool call ids, reasoning) of each choice of a whole answer that called tools with reasoning."""
    out: list[tuple[list[str], str]] = []
    for ch in result.get("choices") or ():
        msg = ch.get("message") or {}
        reasoning = msg.get("reasoning_content")
        calls = msg.get("tool_calls") or ()
        if isinstance(reasoning, str) and reasoning and calls:
            out.append(([str(c.get("id") or "") for c in calls], reasoning))
    return out


def _call_ids(m: dict[str, Any]) -> list[str]:
    return [str(c.get("id") or "") for c in m.get("tool_calls") or () if isinstance(c, dict)]


async def repair_history(
    req: ChatRequest, vendor_type: str, store: ReasoningStore, scope: str, *, stream: bool
) -> ChatRequest:
    """``req`` as this vendor must receive it (see the module's docstring); ``req`` itself when
    nothing changes, which is the common case and costs one pass over the messages."""
    messages = req.wire().get("messages")
    if not isinstance(messages, list):
        return req
    thinking = thinking_for(vendor_type)
    if thinking is None or not thinking.replay:
        if not any(isinstance(m, dict) and "reasoning_content" in m for m in messages):
            return req
        return _rebuilt(req, [_without_reasoning(m) for m in messages], {})
    missing = [
        i
        for i, m in enumerate(messages)
        if isinstance(m, dict)
        and m.get("role") == "assistant"
        and m.get("tool_calls")
        and m.get("reasoning_content") is None  # a value the client sent (even "") is kept
    ]
    if not missing:
        return req
    fixed = list(messages)
    unknown = False
    for i in missing:
        reasoning = await store.get(scope, _call_ids(fixed[i]))
        if reasoning is None:
            unknown = True
            if thinking.unknown == "empty":
                fixed[i] = {**fixed[i], "reasoning_content": ""}
        else:
            fixed[i] = {**fixed[i], "reasoning_content": reasoning}
    extra: dict[str, Any] = {}
    if unknown and thinking.unknown == "disable_thinking":
        # the vendor checks the history only in thinking mode: this one turn goes without it
        extra = thinking_switch(vendor_type, "none", stream)
    return _rebuilt(req, fixed, extra)


def _without_reasoning(m: Any) -> Any:
    if isinstance(m, dict) and "reasoning_content" in m:
        return {k: v for k, v in m.items() if k != "reasoning_content"}
    return m


def _rebuilt(req: ChatRequest, messages: list[Any], fields: dict[str, Any]) -> ChatRequest:
    body = {**req.wire(), "messages": messages}
    if fields:
        body.pop("reasoning_effort", None)  # replaced by the vendor's own switch
        body.update(fields)
    return validate(ChatRequest, body)


def build_reasoning(config: Config) -> ReasoningStore:
    """The replay store: in process, and shared through Redis when ``store.redis_url`` is set."""
    s = config.store
    redis = None
    if s.redis_url:
        from redis.asyncio import Redis

        redis = Redis.from_url(s.redis_url, socket_connect_timeout=1.0, socket_timeout=2.0)
    return ReasoningStore(
        ttl=s.reasoning_ttl,
        max_entries=s.reasoning_max_entries,
        redis=redis,
        prefix=config.routing.redis_prefix + "reasoning:",
    )
