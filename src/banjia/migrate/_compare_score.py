"""Scoring replayed answers: against references (embedding similarity, exact and regex match) and
against each other (a judge model, pairwise, each pair judged twice with the positions swapped so a
judge that favours the first — or second — answer cancels out).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from banjia.migrate._compare_prompts import Prompt, content_text
from banjia.migrate._compare_run import Sample

if TYPE_CHECKING:
    import openai

__all__ = ["JudgeStats", "judge_pairs", "judge_prompt", "normalize", "parse_verdict", "score_references"]

Verdict = Literal["A", "B", "TIE"]
_EMBED_BATCH = 10  # some vendors (DashScope) take at most 10 inputs per request


def normalize(text: str) -> str:
    return " ".join(text.split()).casefold()


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


async def score_references(
    client: openai.AsyncOpenAI,
    prompts: Mapping[str, Prompt],
    samples: Sequence[Sample],
    embedding_model: str,
    gate: asyncio.Semaphore,
) -> str | None:
    """Fill ``exact``, ``matched`` and ``similarity``; returns a warning when embeddings failed."""
    import openai

    wanted: set[str] = set()
    for s in samples:
        p = prompts[s.prompt_id]
        if not s.ok:
            continue
        if p.match is not None:
            s.matched = re.search(p.match, s.text) is not None
        if p.reference is not None:
            s.exact = normalize(s.text) == normalize(p.reference)
            if s.text.strip():
                wanted.update((s.text, p.reference))
    if not wanted:
        for s in samples:
            if s.ok and prompts[s.prompt_id].reference is not None:
                s.similarity = 0.0  # an empty answer
        return None
    texts = sorted(wanted)
    vectors: dict[str, list[float]] = {}

    async def embed(batch: list[str]) -> None:
        async with gate:
            r = await client.embeddings.create(model=embedding_model, input=batch, encoding_format="float")
        for d in r.data:
            vectors[batch[d.index]] = [float(x) for x in d.embedding]

    try:
        await asyncio.gather(
            *(embed(texts[i : i + _EMBED_BATCH]) for i in range(0, len(texts), _EMBED_BATCH))
        )
    except (openai.APIError, IndexError, ValueError) as e:
        return f"embedding similarity skipped: {embedding_model!r} failed ({type(e).__name__}: {e})"
    for s in samples:
        ref = prompts[s.prompt_id].reference
        if not s.ok or ref is None:
            continue
        if not s.text.strip():
            s.similarity = 0.0
        elif s.text in vectors and ref in vectors:
            s.similarity = round(cosine(vectors[s.text], vectors[ref]), 6)
    return None


# -- the judge -----------------------------------------------------------------------------------
_JUDGE_SYSTEM = (
    "You are an impartial judge comparing two answers to the same request. Judge helpfulness, "
    "correctness and faithfulness to the request; ignore the answers' order and length as such."
)
_BRACKETED = re.compile(r"\[\[\s*(A|B|TIE)\s*\]\]")
_BARE = re.compile(r"^\W*(A|B|TIE)\W*$")
_TOKEN = re.compile(r"\b(TIE|A|B)\b")


def judge_prompt(prompt: Prompt, first: str, second: str) -> list[dict[str, Any]]:
    """The judge's messages for answers shown as A (``first``) and B (``second``)."""
    convo = "\n".join(f"{m.get('role')}: {content_text(m.get('content'))}" for m in prompt.messages)
    parts = [f"[Request]\n{convo}\n[End of request]"]
    if prompt.reference:
        parts.append(f"[Reference answer]\n{prompt.reference}\n[End of reference answer]")
    parts.append(f"[Answer A]\n{first}\n[End of answer A]")
    parts.append(f"[Answer B]\n{second}\n[End of answer B]")
    parts.append('Which answer is better? Reply with exactly one of: "A", "B" or "TIE".')
    return [{"role": "system", "content": _JUDGE_SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]


def parse_verdict(text: str) -> Verdict | None:
    upper = text.strip().upper()
    for pattern in (_BRACKETED, _BARE):
        m = pattern.search(upper)
        if m:
            return _as_verdict(m.group(1))
    lines = [ln for ln in upper.splitlines() if ln.strip()]
    tokens = _TOKEN.findall(lines[-1]) if lines else []
    return _as_verdict(tokens[-1]) if tokens else None


def _as_verdict(token: str) -> Verdict:
    return "A" if token == "A" else "B" if token == "B" else "TIE"


@dataclass
class JudgeStats:
    model: str
    calls: int = 0
    errors: int = 0
    unparsed: int = 0
    first_wins: int = 0  # verdicts for whichever answer was shown first
    pairs: int = 0
    consistent: int = 0  # pairs whose winner survived the swap
    # (prompt id, model) → points from every comparison it took part in
    points: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    @property
    def consistency(self) -> float | None:
        return self.consistent / self.pairs if self.pairs else None

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "calls": self.calls,
            "errors": self.errors,
            "unparsed": self.unparsed,
            "first_position_wins": self.first_wins,
            "pairs": self.pairs,
            "consistent_pairs": self.consistent,
        }


def _points(verdict: Verdict) -> tuple[float, float]:
    """Points for (answer shown as A, answer shown as B)."""
    return {"A": (1.0, 0.0), "B": (0.0, 1.0), "TIE": (0.5, 0.5)}[verdict]


async def judge_pairs(
    client: openai.AsyncOpenAI,
    judge_model: str,
    prompts: Sequence[Prompt],
    samples: Mapping[tuple[str, str], Sample],
    models: Sequence[str],
    gate: asyncio.Semaphore,
    request_timeout: float,
) -> JudgeStats:
    """Judge every pair of models on every prompt, twice (A/B then B/A); fill ``Sample.judge``."""
    stats = JudgeStats(judge_model)

    async def ask(prompt: Prompt, first: str, second: str) -> Verdict:
        import openai

        async with gate:
            stats.calls += 1
            try:
                async with asyncio.timeout(request_timeout):
                    r = await client.chat.completions.create(
                        model=judge_model,
                        messages=judge_prompt(prompt, first, second),  # type: ignore[arg-type]
                        temperature=0,
                    )
            except (openai.APIError, TimeoutError):
                stats.errors += 1
                return "TIE"
        text = (r.choices[0].message.content or "") if r.choices else ""
        verdict = parse_verdict(text)
        if verdict is None:
            stats.unparsed += 1
            return "TIE"
        if verdict == "A":
            stats.first_wins += 1
        return verdict

    async def pair(prompt: Prompt, a: str, b: str) -> None:
        sa, sb = samples[(prompt.id, a)], samples[(prompt.id, b)]
        if not (sa.ok and sb.ok):
            # a failed call loses without a judge; two failures tie
            pa, pb = (0.5, 0.5) if sa.ok == sb.ok else ((1.0, 0.0) if sa.ok else (0.0, 1.0))
            stats.points.setdefault((prompt.id, a), []).extend([pa, pa])
            stats.points.setdefault((prompt.id, b), []).extend([pb, pb])
            return
        ab, ba = await asyncio.gather(ask(prompt, sa.text, sb.text), ask(prompt, sb.text, sa.text))
        a1, b1 = _points(ab)
        b2, a2 = _points(ba)
        stats.points.setdefault((prompt.id, a), []).extend([a1, a2])
        stats.points.setdefault((prompt.id, b), []).extend([b1, b2])
        stats.pairs += 1
        if (a1 - b1) == (a2 - b2):
            stats.consistent += 1

    await asyncio.gather(*(pair(p, a, b) for p in prompts for a, b in itertools.combinations(models, 2)))
    for key, pts in stats.points.items():
        if key in samples:
            samples[key].judge = sum(pts) / len(pts)
    return stats
