"""Probes beyond chat: models, legacy completions, embeddings, the Responses API, the media
endpoints, errors, rate limits."""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

from banjia.migrate._check_base import (
    Failed,
    ProbeContext,
    Unsupported,
    ensure,
    error_envelope,
    probe,
    short,
)

__all__: list[str] = []

_PROMPT = "Reply with the single word: pong"


# -- models --------------------------------------------------------------------------------------
@probe("models_list", "models", "GET /models lists models", endpoint=True)
async def models_list(ctx: ProbeContext, model: str) -> str:
    page = await ctx.client.models.list()
    data = list(page.data)
    ensure(data, "the list is empty")
    for m in data:
        ensure(isinstance(m.id, str) and m.id, f"a model entry has no id: {short(m)}")
        ensure(m.object == "model", f"entry object is {m.object!r}")
    listed = ctx.model in {m.id for m in data}
    return f"{len(data)} models; {ctx.model!r} " + ("listed" if listed else "not listed")


@probe("model_retrieve", "models", "GET /models/{id} for the probed model", endpoint=True)
async def model_retrieve(ctx: ProbeContext, model: str) -> str:
    m = await ctx.client.models.retrieve(model)
    ensure(m.id == model, f"asked for {model!r}, got {m.id!r}")
    return f"owned_by {m.owned_by!r}"


@probe(
    "completions_legacy", "completions", "POST /completions (legacy; LlamaIndex OpenAILike)", endpoint=True
)
async def completions_legacy(ctx: ProbeContext, model: str) -> str:
    r = await ctx.client.completions.create(model=model, prompt=_PROMPT, max_tokens=16)
    ensure(r.choices, "no choices")
    text = r.choices[0].text
    ensure(isinstance(text, str) and text.strip(), "choices[0].text is empty")
    ensure(r.object == "text_completion", f"object is {r.object!r}")
    return f"answered {short(text, 40)!r}"


# -- embeddings ----------------------------------------------------------------------------------
def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(y * y for y in b)) or 1.0
    return dot / (na * nb)


async def _floats(ctx: ProbeContext, model: str, text: str) -> list[float]:
    r = await ctx.client.embeddings.create(model=model, input=text, encoding_format="float")
    ensure(len(r.data) == 1, f"{len(r.data)} embeddings for one input")
    vec = r.data[0].embedding
    ensure(isinstance(vec, list) and vec, "the embedding is empty")
    ensure(all(isinstance(x, float | int) for x in vec), "the embedding holds non-numbers")
    return [float(x) for x in vec]


@probe("embeddings_float", "embeddings", "embeddings as float lists", endpoint=True)
async def embeddings_float(ctx: ProbeContext, model: str) -> str:
    vec = await _floats(ctx, model, "hello world")
    return f"{len(vec)} dimensions"


@probe(
    "embeddings_base64", "embeddings", 'encoding_format "base64" (openai-python\'s default)', endpoint=True
)
async def embeddings_base64(ctx: ProbeContext, model: str) -> str:
    text = "hello world"
    floats = await _floats(ctx, model, text)
    raw = await ctx.client.embeddings.with_raw_response.create(
        model=model, input=text, encoding_format="base64"
    )
    body = json.loads(raw.http_response.content)
    item = (body.get("data") or [{}])[0].get("embedding")
    if isinstance(item, list):
        raise Failed("encoding_format base64 ignored: floats returned")
    ensure(isinstance(item, str), f"embedding is {type(item).__name__}")
    try:
        blob = base64.b64decode(item, validate=True)
    except ValueError:
        raise Failed("the embedding is not valid base64") from None
    ensure(len(blob) % 4 == 0 and blob, f"{len(blob)} bytes is not a float32 vector")
    decoded = list(struct.unpack(f"<{len(blob) // 4}f", blob))
    ensure(len(decoded) == len(floats), f"base64 has {len(decoded)} dimensions, floats {len(floats)}")
    ensure(_cosine(decoded, floats) > 0.999, "the base64 vector differs from the float one")
    sdk = await ctx.client.embeddings.create(model=model, input=text)  # the SDK asks base64 and decodes
    ensure(
        _cosine([float(x) for x in sdk.data[0].embedding], floats) > 0.999, "the SDK's default decode differs"
    )
    return f"little-endian float32, {len(decoded)} dimensions"


@probe("embeddings_batch", "embeddings", "a list input answered in order, by index", endpoint=True)
async def embeddings_batch(ctx: ProbeContext, model: str) -> str:
    texts = ["the first text", "a second, different text", "and a third one"]
    r = await ctx.client.embeddings.create(model=model, input=texts, encoding_format="float")
    ensure(len(r.data) == len(texts), f"{len(r.data)} embeddings for {len(texts)} inputs")
    ensure([d.index for d in r.data] == [0, 1, 2], f"indexes in order {[d.index for d in r.data]}")
    single = await _floats(ctx, model, texts[0])
    ensure(
        _cosine([float(x) for x in r.data[0].embedding], single) > 0.999, "data[0] is not the first input's"
    )
    return "3 inputs, in order"


@probe("embeddings_dimensions", "embeddings", "the dimensions parameter", endpoint=True)
async def embeddings_dimensions(ctx: ProbeContext, model: str) -> str:
    r = await ctx.client.embeddings.create(
        model=model, input="hello world", encoding_format="float", dimensions=8
    )
    got = len(r.data[0].embedding)
    ensure(got == 8, f"asked dimensions=8, got {got}")
    return "8 dimensions"


# -- Responses API -------------------------------------------------------------------------------
@probe("responses_basic", "responses", "POST /responses, non-streaming", endpoint=True)
async def responses_basic(ctx: ProbeContext, model: str) -> str:
    r = await ctx.client.responses.create(model=model, input=_PROMPT)
    ensure(r.object == "response", f"object is {r.object!r}")
    ensure(r.id.startswith("resp"), f"id {r.id!r} does not start with 'resp'")
    ensure(r.status == "completed", f"status is {r.status!r}")
    text = r.output_text
    ensure(text.strip(), "output_text is empty")
    ensure(r.usage is not None and r.usage.input_tokens > 0, "no usage")
    return f"answered {short(text, 40)!r}"


@probe("responses_stream", "responses", "POST /responses with stream: typed events", endpoint=True)
async def responses_stream(ctx: ProbeContext, model: str) -> str:
    events: list[str] = []
    text: list[str] = []
    s = await ctx.client.responses.create(model=model, input=_PROMPT, stream=True)
    async for ev in s:
        events.append(ev.type)
        if ev.type == "response.output_text.delta":
            text.append(ev.delta)
    for need in ("response.created", "response.output_text.delta", "response.completed"):
        ensure(need in events, f"no {need} event (got {short(sorted(set(events)), 80)})")
    ensure(events[0] == "response.created", f"the first event is {events[0]}")
    ensure(events[-1] == "response.completed", f"the last event is {events[-1]}")
    ensure("".join(text).strip(), "the streamed text is empty")
    return f"{len(events)} events"


# -- media: images, speech, transcription, rerank --------------------------------------------------
# They cost money upstream (an image, a minute of speech): each runs only on a model given for
# its group with --model-for (images=…, speech=…, transcription=…, rerank=…).
def _media_model(ctx: ProbeContext, group: str) -> str:
    model = ctx.models_for.get(group)
    if not model:
        raise Unsupported(f"not probed: give a model with --model-for {group}=MODEL")
    return model


def _wav(seconds: float = 1.0, rate: int = 16000) -> bytes:
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(
            struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * i / rate)))
            for i in range(int(seconds * rate))
        ))
    return out.getvalue()


_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"RIFF", b"GIF8")


@probe("images_url", "images", "POST /images/generations answers a picture", endpoint=True)
async def images_url(ctx: ProbeContext, model: str) -> str:
    r = await ctx.client.images.generate(model=_media_model(ctx, "images"), prompt="a red circle", n=1)
    ensure(isinstance(r.created, int), "created is missing")
    ensure(r.data, "no images")
    item = (r.data or [])[0]
    ensure(item.url or item.b64_json, "the image has neither url nor b64_json")
    return "a url" if item.url else "b64_json (no url)"


@probe("images_b64_json", "images", 'response_format "b64_json" answers the picture itself', endpoint=True)
async def images_b64_json(ctx: ProbeContext, model: str) -> str:
    r = await ctx.client.images.generate(model=_media_model(ctx, "images"), prompt="a red circle",
                                         response_format="b64_json")
    ensure(r.data, "no images")
    data = (r.data or [])[0].b64_json
    ensure(data, "b64_json is missing (a url was answered instead)")
    raw = base64.b64decode(data or "")
    ensure(raw.startswith(_IMAGE_MAGIC), "b64_json does not decode to a PNG, JPEG, WebP or GIF")
    return f"{len(raw)} bytes"


@probe("speech", "speech", "POST /audio/speech streams audio bytes", endpoint=True)
async def speech(ctx: ProbeContext, model: str) -> str:
    async with ctx.client.audio.speech.with_streaming_response.create(
        model=_media_model(ctx, "speech"), voice="alloy", input="hello", response_format="mp3"
    ) as r:
        ctype = r.headers.get("content-type", "")
        audio = b"".join([chunk async for chunk in r.iter_bytes()])
    ensure(ctype.startswith("audio/"), f"content-type is {ctype!r}")
    ensure(audio, "no audio")
    return f"{len(audio)} bytes of {ctype}"


@probe("transcription", "transcription", "POST /audio/transcriptions of a WAV upload", endpoint=True)
async def transcription(ctx: ProbeContext, model: str) -> str:
    audio = ("probe.wav", _wav(), "audio/wav")
    t = await ctx.client.audio.transcriptions.create(model=_media_model(ctx, "transcription"), file=audio)
    ensure(isinstance(t.text, str), "text is missing")
    srt = await ctx.client.audio.transcriptions.create(
        model=_media_model(ctx, "transcription"), file=audio, response_format="srt")
    ensure(isinstance(srt, str) and "-->" in srt, f"srt is not subtitles: {short(srt, 60)}")
    return f"json and srt ({short(t.text, 30)!r})"


@probe("rerank", "rerank", "POST /rerank (Jina/Cohere body) orders documents", endpoint=True)
async def rerank(ctx: ProbeContext, model: str) -> str:
    docs = ["the cat sat on the mat", "a reranker orders documents by relevance", "bananas are yellow"]
    body = {"model": _media_model(ctx, "rerank"), "query": "what does a reranker do",
            "documents": docs, "top_n": 2}
    r: Any = await ctx.client.post("/rerank", body=body, cast_to=object)
    ensure(isinstance(r, dict) and isinstance(r.get("results"), list), f"no results: {short(r)}")
    results = r["results"]
    ensure(len(results) == 2, f"top_n 2 answered {len(results)} results")
    for x in results:
        ensure(isinstance(x, dict) and isinstance(x.get("index"), int) and 0 <= x["index"] < len(docs)
               and isinstance(x.get("relevance_score"), float | int), f"a result is {short(x)}")
    scores = [x["relevance_score"] for x in results]
    ensure(scores == sorted(scores, reverse=True), "the results are not ordered by relevance")
    return f"best: document {results[0]['index']}"


# -- errors --------------------------------------------------------------------------------------
async def _expect_error(ctx: ProbeContext, statuses: tuple[int, ...], **options: Any) -> str:
    """Send a chat request that must fail; check the status and the error envelope."""
    import openai

    model = options.pop("model")
    client = ctx.other_client(max_retries=0, **options)
    try:
        await client.chat.completions.create(model=model, messages=[{"role": "user", "content": _PROMPT}])
    except openai.APIStatusError as e:
        status, content = e.status_code, e.response.content
    else:
        raise Failed(f"the request was accepted (expected {' or '.join(map(str, statuses))})")
    env = error_envelope(content)
    ensure(
        env is not None,
        f"{status} without an OpenAI error envelope: {short(content.decode('utf-8', 'replace'), 60)}",
    )
    assert env is not None
    ensure(status in statuses, f"status {status}, expected {' or '.join(map(str, statuses))}")
    ensure(isinstance(env.get("type"), str), "error.type is missing")
    missing = [k for k in ("param", "code") if k not in env]
    note = f"; error.{' and error.'.join(missing)} missing" if missing else ""
    return f"{status} {env.get('type')}/{env.get('code')}{note}"


@probe("error_bad_key", "errors", "401 with an OpenAI error envelope for a bad key")
async def error_bad_key(ctx: ProbeContext, model: str) -> str:
    return await _expect_error(ctx, (401,), model=model, api_key="sk-banjia-check-invalid-key")


@probe("error_unknown_model", "errors", "404/400 with an error envelope for an unknown model")
async def error_unknown_model(ctx: ProbeContext, model: str) -> str:
    return await _expect_error(ctx, (404, 400), model="banjia-check-no-such-model")


@probe("retry_after", "rate_limit", "429 answers carry retry-after (when a 429 is observable)", last=True)
async def retry_after(ctx: ProbeContext, model: str) -> str:
    import openai

    if "retry_after" in ctx.models_for or "rate_limit" in ctx.models_for:
        # a model known to be throttled: provoke one 429 on purpose
        client = ctx.other_client(max_retries=0)
        try:
            await client.chat.completions.create(model=model, messages=[{"role": "user", "content": _PROMPT}])
        except openai.RateLimitError:
            pass  # the response hook recorded it
        except openai.APIStatusError as e:
            raise Failed(f"expected a 429, got {e.status_code}") from None
    if not ctx.rate_limits:
        raise Unsupported("not observable: no 429 during this run (none is provoked on purpose)")
    bare = [r for r in ctx.rate_limits if r.retry_after is None]
    ensure(not bare, f"{len(bare)} of {len(ctx.rate_limits)} 429 answers carry no retry-after")
    return f"{len(ctx.rate_limits)} 429 answer(s), {ctx.rate_limits[0].retry_after}"
