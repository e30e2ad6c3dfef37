"""Replaying one prompt on one model: a streamed request timed to the first token and to the end,
with its tokens and its CNY cost.

The cost comes from banjia's catalog, ``banjia.catalog.price_cny(provider_type, model, prompt,
completion)``. Who served the answer is read from banjia's ``x-banjia-upstream`` header when there
is one (an alias may be served by any entry of its chain), else from the ``provider/model`` name,
else from ``owned_by`` in ``/v1/models``. The provider *name* becomes a provider *type* through the
gateway's config when one is at hand, else the name is taken to be the type (``deepseek/…``).
Anything missing makes the cost ``None`` ("unknown"), never a guess.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from banjia.migrate._compare_prompts import Prompt

if TYPE_CHECKING:
    import openai

__all__ = ["Pricer", "Sample", "replay"]


@dataclass
class Sample:
    prompt_id: str
    model: str
    text: str = ""
    latency_s: float | None = None
    ttft_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0
    cost_cny: float | None = None
    upstream: str | None = None
    error: str | None = None
    # scores, filled in later
    similarity: float | None = None
    exact: bool | None = None
    matched: bool | None = None
    judge: float | None = None
    # whether this prompt is scored at all (a reference, a match or a judge): a failed request
    # scores 0 only then, so a model never looks rated just because its requests failed
    scored: bool = True

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def quality(self) -> float | None:
        """The mean of the scores this prompt has (match, similarity, judge); 0 for a failed call."""
        parts: list[float] = []
        if self.matched is not None:
            parts.append(1.0 if self.matched else 0.0)
        if self.similarity is not None:
            parts.append(max(0.0, min(1.0, self.similarity)))
        if self.judge is not None:
            parts.append(self.judge)
        if not self.ok:
            return 0.0 if self.scored else None
        return sum(parts) / len(parts) if parts else None

    def as_json(self) -> dict[str, Any]:
        return {
            "prompt_id": self.prompt_id,
            "model": self.model,
            "upstream": self.upstream,
            "text": self.text,
            "error": self.error,
            "latency_s": self.latency_s,
            "ttft_s": self.ttft_s,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "cost_cny": self.cost_cny,
            "similarity": self.similarity,
            "exact": self.exact,
            "matched": self.matched,
            "judge": self.judge,
            "quality": self.quality,
        }


PriceFn = Callable[..., float | None]  # (provider type, model, prompt, completion[, cached_tokens=])


def _catalog_types(model: str) -> list[str]:
    """The provider types whose catalog lists ``model`` at one price (several types may sell the
    same model; when their prices differ, none is picked)."""
    try:
        from banjia.catalog import load_catalog
    except ImportError:
        return []
    catalog = load_catalog()
    found = [(t, info) for t, vendor in catalog.vendors.items()
             if (info := vendor.get(model)) is not None]
    prices = {(info.cost_cny(1_000_000, 0, 0), info.cost_cny(0, 1_000_000, 0))
              for _, info in found}
    return [t for t, _ in found] if len(prices) == 1 else []


def _catalog_price() -> PriceFn | None:
    try:
        from banjia import catalog
    except ImportError:
        return None
    fn = getattr(catalog, "price_cny", None)
    return fn if callable(fn) else None


class Pricer:
    """Turns (model asked for, who served it, tokens) into CNY, or None when any piece is missing."""

    def __init__(
        self,
        owners: Mapping[str, str] | None = None,
        provider_types: Mapping[str, str] | None = None,
        price: PriceFn | None = None,
    ) -> None:
        self.owners = dict(owners or {})
        self.provider_types = dict(provider_types or {})
        self.price = price if price is not None else _catalog_price()

    def served_by(self, model: str, upstream: str | None) -> tuple[str, str] | None:
        """(provider type, upstream model) for an answer, when it can be told. A provider name
        that is no provider type (``qwen/qwen-plus`` without the gateway's config) is looked up
        by its model in the catalog: the type whose catalog lists that model."""
        for name in (upstream, model):
            if name and "/" in name:
                provider, _, upstream_model = name.partition("/")
                return self._type_of(provider, upstream_model), upstream_model
        owner = self.owners.get(model)
        if owner and owner != "banjia":
            return self._type_of(owner, model), model
        return None

    def _type_of(self, provider: str, model: str) -> str:
        if provider in self.provider_types:
            return self.provider_types[provider]
        types = _catalog_types(model)
        if provider in types or not types:
            return provider
        return types[0]

    def cost(
        self, model: str, upstream: str | None, prompt: int | None, completion: int | None, cached: int = 0
    ) -> float | None:
        if self.price is None or prompt is None or completion is None:
            return None
        who = self.served_by(model, upstream)
        if who is None:
            return None
        try:
            if cached:
                value = self.price(who[0], who[1], prompt, completion, cached_tokens=cached)
            else:
                value = self.price(who[0], who[1], prompt, completion)
        except (LookupError, ValueError, TypeError):
            return None
        return float(value) if value is not None else None


async def replay(
    client: openai.AsyncOpenAI, prompt: Prompt, model: str, pricer: Pricer, request_timeout: float
) -> Sample:
    """One streamed request; failures become ``Sample.error``, never an exception."""
    import asyncio

    import openai

    sample = Sample(prompt.id, model)
    start = time.perf_counter()
    try:
        async with asyncio.timeout(request_timeout):
            await _stream_into(client, prompt, model, sample, start)
    except TimeoutError:
        sample.error = f"timed out after {request_timeout:g} s"
    except openai.APIStatusError as e:
        sample.error = f"{e.status_code}: {_message(e)}"
    except openai.APIError as e:
        sample.error = f"{type(e).__name__}: {e.message}"
    if sample.error is None:
        sample.cost_cny = pricer.cost(
            model, sample.upstream, sample.prompt_tokens, sample.completion_tokens, sample.cached_tokens
        )
    else:
        sample.latency_s = sample.ttft_s = None
    return sample


def _message(e: Any) -> str:
    body = e.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return str(e.message)


async def _stream_into(
    client: openai.AsyncOpenAI, prompt: Prompt, model: str, sample: Sample, start: float
) -> None:
    texts: list[str] = []
    messages: Any = prompt.messages
    calls: dict[int, list[str]] = {}
    async with client.chat.completions.with_streaming_response.create(
        model=model,
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
        extra_body=prompt.params or None,
    ) as resp:
        sample.upstream = resp.headers.get("x-banjia-upstream")
        stream = await resp.parse()
        async for chunk in stream:
            if chunk.usage is not None:
                sample.prompt_tokens = chunk.usage.prompt_tokens
                sample.completion_tokens = chunk.usage.completion_tokens
                details = chunk.usage.prompt_tokens_details
                sample.cached_tokens = (details.cached_tokens or 0) if details is not None else 0
            for ch in chunk.choices:
                d = ch.delta
                piece = d.content or ""
                extra = getattr(d, "reasoning_content", None)
                if (piece or extra or d.tool_calls) and sample.ttft_s is None:
                    sample.ttft_s = time.perf_counter() - start
                texts.append(piece)
                for tc in d.tool_calls or []:
                    part = calls.setdefault(tc.index, [])
                    if tc.function and tc.function.name:
                        part.append(tc.function.name + "(")
                    if tc.function and tc.function.arguments:
                        part.append(tc.function.arguments)
    sample.latency_s = time.perf_counter() - start
    if sample.ttft_s is None:
        sample.ttft_s = sample.latency_s
    text = "".join(texts)
    if calls:
        text += "".join("".join(parts) + ")" for _, parts in sorted(calls.items()))
    sample.text = text
