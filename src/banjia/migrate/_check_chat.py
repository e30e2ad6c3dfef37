"""Chat Completions probes: plain answers, streaming, tools, structured output, request parameters."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel

from banjia.migrate._check_base import Failed, ProbeContext, ensure, probe, short

__all__: list[str] = []

PING: Any = [{"role": "user", "content": "Reply with the single word: pong"}]
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}
TIME: Any = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "The current local time in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ASK_WEATHER: Any = [{"role": "user", "content": "What is the weather in Beijing right now? Use the tool."}]
FINISH_REASONS = {"stop", "length", "tool_calls", "content_filter", "function_call"}
_REPEATED = re.compile(r"^(.+?)\1+$", re.DOTALL)


def _one_choice(r: Any) -> Any:
    ensure(isinstance(r.choices, list) and r.choices, "the answer has no choices")
    return r.choices[0]


def _text(r: Any) -> str:
    ch = _one_choice(r)
    content = ch.message.content
    ensure(isinstance(content, str), f"message.content is {type(content).__name__}, not a string")
    return str(content)


def _check_tool_calls(calls: Any, names: set[str]) -> list[str]:
    """Each call well formed; returns the called names."""
    ensure(calls, "no tool call: the model answered with text")
    out: list[str] = []
    ids: set[str] = set()
    for c in calls:
        ensure(c.id, "a tool call has no id")
        rep = _REPEATED.match(c.id)
        ensure(
            not (rep and len(c.id) >= 2 * len(rep.group(1)) and len(rep.group(1)) >= 4),
            f"tool call id {short(c.id, 60)!r} repeats itself (ids re-sent on every delta were concatenated)",
        )
        ensure(c.id not in ids, f"two tool calls share the id {c.id!r}")
        ids.add(c.id)
        ensure(c.type == "function", f"tool call type is {c.type!r}")
        ensure(c.function.name in names, f"called an unknown function {c.function.name!r}")
        try:
            args = json.loads(c.function.arguments)
        except ValueError:
            raise Failed(f"arguments are not JSON: {short(c.function.arguments, 80)}") from None
        ensure(isinstance(args, dict), "arguments are not a JSON object")
        out.append(c.function.name)
    return out


async def raw_stream(ctx: ProbeContext, model: str, **options: Any) -> tuple[list[dict[str, Any]], bool]:
    """The chunks of a streamed chat answer as sent, and whether ``[DONE]`` ended it."""
    chunks: list[dict[str, Any]] = []
    done = False
    async with ctx.client.chat.completions.with_streaming_response.create(
        model=model, messages=PING, stream=True, **options
    ) as resp:
        async for line in resp.iter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                done = True
                break
            try:
                obj = json.loads(data)
            except ValueError:
                raise Failed(f"a stream event is not JSON: {short(data, 80)}") from None
            ensure(isinstance(obj, dict), "a stream event is not a JSON object")
            if "error" in obj and not obj.get("choices"):
                raise Failed(f"error event in the stream: {short(obj['error'])}")
            chunks.append(obj)
    return chunks, done


def _stream_text(chunks: list[dict[str, Any]]) -> str:
    parts = []
    for c in chunks:
        for ch in c.get("choices") or []:
            parts.append((ch.get("delta") or {}).get("content") or "")
    return "".join(parts)


# -- plain answers -------------------------------------------------------------------------------
@probe("chat", "core", "a plain non-streaming answer")
async def chat(ctx: ProbeContext, model: str) -> str:
    r = await ctx.client.chat.completions.create(model=model, messages=PING)
    text = _text(r)
    ensure(text.strip(), "message.content is empty")
    ch = _one_choice(r)
    ensure(ch.message.role == "assistant", f"message.role is {ch.message.role!r}")
    ensure(ch.finish_reason in FINISH_REASONS, f"finish_reason is {ch.finish_reason!r}")
    return f"answered {short(text, 40)!r}"


@probe("usage", "core", "token usage on a non-streaming answer")
async def usage(ctx: ProbeContext, model: str) -> str:
    r = await ctx.client.chat.completions.create(model=model, messages=PING)
    u = r.usage
    ensure(u is not None, "no usage in the answer")
    assert u is not None
    ensure(u.prompt_tokens > 0, f"prompt_tokens is {u.prompt_tokens}")
    ensure(u.completion_tokens >= 0, f"completion_tokens is {u.completion_tokens}")
    ensure(
        u.total_tokens == u.prompt_tokens + u.completion_tokens,
        f"total_tokens {u.total_tokens} != prompt {u.prompt_tokens} + completion {u.completion_tokens}",
    )
    return f"prompt {u.prompt_tokens}, completion {u.completion_tokens}, total {u.total_tokens}"


@probe("strict_schema", "core", "the answer validates against the SDK's strict types")
async def strict_schema(ctx: ProbeContext, model: str) -> str:
    strict = ctx.other_client(_strict_response_validation=True)
    r = await strict.chat.completions.create(model=model, messages=PING)
    _one_choice(r)
    return "chat.completion validates in strict mode"


@probe("system_role", "core", "a system message")
async def system_role(ctx: ProbeContext, model: str) -> str:
    msgs: Any = [{"role": "system", "content": "You answer tersely."}, *PING]
    r = await ctx.client.chat.completions.create(model=model, messages=msgs)
    ensure(_text(r).strip(), "message.content is empty")
    return "accepted"


@probe("developer_role", "core", "a developer message (o-series / LangChain)")
async def developer_role(ctx: ProbeContext, model: str) -> str:
    msgs: Any = [{"role": "developer", "content": "You answer tersely."}, *PING]
    r = await ctx.client.chat.completions.create(model=model, messages=msgs)
    ensure(_text(r).strip(), "message.content is empty")
    return "accepted"


# -- streaming -----------------------------------------------------------------------------------
@probe("stream", "core", "SSE chunks: one id, role first, finish_reason, [DONE]")
async def stream(ctx: ProbeContext, model: str) -> str:
    chunks, done = await raw_stream(ctx, model)
    ensure(chunks, "the stream sent no chunks")
    ensure(done, "the stream ended without data: [DONE]")
    ids = {c.get("id") for c in chunks}
    ensure(len(ids) == 1, f"chunk ids differ: {short(sorted(map(str, ids)), 80)}")
    objs = {c.get("object") for c in chunks}
    ensure(objs == {"chat.completion.chunk"}, f"chunk object is {short(sorted(map(str, objs)))}")
    empty = [c for c in chunks if not c.get("choices")]
    ensure(not empty, "a chunk has no choices although usage was not asked for")
    first = chunks[0]["choices"][0].get("delta") or {}
    ensure(first.get("role") == "assistant", f"the first delta has no role 'assistant': {short(first)}")
    finishes = [ch.get("finish_reason") for c in chunks for ch in c["choices"] if ch.get("finish_reason")]
    ensure(len(finishes) == 1, f"{len(finishes)} finish_reason values (expected one)")
    ensure(finishes[0] in FINISH_REASONS, f"finish_reason is {finishes[0]!r}")
    text = _stream_text(chunks)
    ensure(text.strip(), "the streamed text is empty")
    return f"{len(chunks)} chunks, {short(text, 30)!r}"


@probe("stream_usage", "core", "stream_options.include_usage: a final chunk with choices [] and usage")
async def stream_usage(ctx: ProbeContext, model: str) -> str:
    chunks, _ = await raw_stream(ctx, model, stream_options={"include_usage": True})
    with_usage = [i for i, c in enumerate(chunks) if c.get("usage")]
    ensure(with_usage, "no chunk carries usage")
    last = chunks[with_usage[-1]]
    ensure(
        last.get("choices") == [],
        "usage arrived on a chunk with choices (expected a separate chunk with choices: [])",
    )
    ensure(with_usage[-1] == len(chunks) - 1, "the usage chunk is not the last chunk")
    u = last["usage"]
    p, c, t = u.get("prompt_tokens"), u.get("completion_tokens"), u.get("total_tokens")
    ensure(isinstance(p, int) and isinstance(c, int) and isinstance(t, int), f"usage is {short(u)}")
    ensure(p > 0 and t == p + c, f"inconsistent usage {short(u)}")
    return f"prompt {p}, completion {c}"


@probe("stream_usage_only_when_asked", "core", "no usage chunk (choices []) unless asked")
async def stream_usage_only_when_asked(ctx: ProbeContext, model: str) -> str:
    chunks, _ = await raw_stream(ctx, model)
    ensure(chunks, "the stream sent no chunks")
    ensure(
        all(c.get("choices") for c in chunks),
        "a chunk with choices: [] arrived unasked (breaks code reading chunk.choices[0])",
    )
    stray = sum(1 for c in chunks if c.get("usage"))
    return "no extra chunk" + (f"; {stray} chunk(s) carry usage anyway" if stray else "")


# -- tools ---------------------------------------------------------------------------------------
@probe("tool_call", "tools", "a function call, non-streaming")
async def tools(ctx: ProbeContext, model: str) -> str:
    r = await ctx.client.chat.completions.create(model=model, messages=ASK_WEATHER, tools=[WEATHER])
    ch = _one_choice(r)
    names = _check_tool_calls(ch.message.tool_calls, {"get_weather"})
    ensure(ch.finish_reason == "tool_calls", f"finish_reason is {ch.finish_reason!r}, not 'tool_calls'")
    return f"called {', '.join(names)}"


async def _streamed_calls(ctx: ProbeContext, model: str, messages: Any, **options: Any) -> Any:
    async with ctx.client.chat.completions.stream(
        model=model, messages=messages, tools=[WEATHER], **options
    ) as s:
        final = await s.get_final_completion()
    return _one_choice(final)


@probe("tool_call_stream", "tools", "a function call, streamed (SDK stream helper)")
async def tools_stream(ctx: ProbeContext, model: str) -> str:
    ch = await _streamed_calls(ctx, model, ASK_WEATHER)
    names = _check_tool_calls(ch.message.tool_calls, {"get_weather"})
    ensure(ch.finish_reason == "tool_calls", f"finish_reason is {ch.finish_reason!r}, not 'tool_calls'")
    return f"{len(names)} call(s) reassembled"


@probe("parallel_tool_calls", "tools", "two calls in one streamed answer (parallel_tool_calls)")
async def parallel_tools(ctx: ProbeContext, model: str) -> str:
    msgs: Any = [
        {
            "role": "user",
            "content": "What is the weather in Beijing and in Shanghai? Call the tool once for each city, "
            "both calls in this one answer.",
        }
    ]
    ch = await _streamed_calls(ctx, model, msgs, parallel_tool_calls=True)
    names = _check_tool_calls(ch.message.tool_calls, {"get_weather"})
    ensure(len(names) >= 2, f"{len(names)} tool call; expected two in parallel")
    return f"{len(names)} calls with distinct ids"


@probe("tool_choice_required", "tools", 'tool_choice "required" forces a call')
async def tool_choice_required(ctx: ProbeContext, model: str) -> str:
    msgs: Any = [{"role": "user", "content": "Say hello."}]
    r = await ctx.client.chat.completions.create(
        model=model, messages=msgs, tools=[WEATHER], tool_choice="required"
    )
    names = _check_tool_calls(_one_choice(r).message.tool_calls, {"get_weather"})
    return f"called {', '.join(names)}"


@probe("tool_choice_named", "tools", "tool_choice naming one function forces that function")
async def tool_choice_named(ctx: ProbeContext, model: str) -> str:
    choice: Any = {"type": "function", "function": {"name": "get_time"}}
    r = await ctx.client.chat.completions.create(
        model=model, messages=ASK_WEATHER, tools=[TIME, WEATHER], tool_choice=choice
    )
    names = _check_tool_calls(_one_choice(r).message.tool_calls, {"get_weather", "get_time"})
    ensure(names == ["get_time"], f"called {names}, not the named get_time")
    return "called get_time"


@probe("tool_result", "tools", "a conversation carrying a tool call and its result")
async def tool_result(ctx: ProbeContext, model: str) -> str:
    msgs: Any = [
        *ASK_WEATHER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_check_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Beijing"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_check_1", "content": '{"temperature_c": 21, "sky": "clear"}'},
    ]
    r = await ctx.client.chat.completions.create(model=model, messages=msgs, tools=[WEATHER])
    ch = _one_choice(r)
    if ch.message.tool_calls:
        return "accepted; answered with another tool call"
    ensure((ch.message.content or "").strip(), "empty answer to the tool result")
    return "accepted; answered with text"


# -- structured output ---------------------------------------------------------------------------
@probe("json_object", "json", 'response_format {"type": "json_object"}')
async def json_object(ctx: ProbeContext, model: str) -> str:
    msgs: Any = [
        {"role": "system", "content": "You reply with JSON only."},
        {"role": "user", "content": 'Return a JSON object with the key "answer" set to "echo".'},
    ]
    r = await ctx.client.chat.completions.create(
        model=model, messages=msgs, response_format={"type": "json_object"}
    )
    text = _text(r)
    try:
        obj = json.loads(text)
    except ValueError:
        raise Failed(f"content is not bare JSON: {short(text, 60)}") from None
    ensure(isinstance(obj, dict), "content is JSON but not an object")
    return f"keys {sorted(obj)}"


class _Answer(BaseModel):
    answer: str
    words: int


@probe("json_schema", "json", "response_format json_schema through client.chat.completions.parse")
async def json_schema(ctx: ProbeContext, model: str) -> str:
    msgs: Any = [
        {
            "role": "user",
            "content": 'Give "echo" as answer and the number of words in this sentence as words.',
        }
    ]
    parse = getattr(ctx.client.chat.completions, "parse", None)
    if parse is None:  # openai-python before 1.92
        parse = ctx.client.beta.chat.completions.parse
    try:
        r = await parse(model=model, messages=msgs, response_format=_Answer)
    except ValueError as e:  # pydantic's ValidationError is one: content not matching the schema
        raise Failed(f"content does not match the schema: {short(str(e), 100)}") from None
    parsed = _one_choice(r).message.parsed
    ensure(isinstance(parsed, _Answer), "message.parsed is empty")
    return f"parsed {short(parsed.model_dump_json(), 60)}"


# -- parameters ----------------------------------------------------------------------------------
@probe("n", "core", "n=2 returns two choices")
async def n_choices(ctx: ProbeContext, model: str) -> str:
    r = await ctx.client.chat.completions.create(model=model, messages=PING, n=2)
    got = sorted(c.index for c in r.choices)
    ensure(got == [0, 1], f"asked n=2, got choices with indexes {got}")
    return "two choices"


@probe("stop", "core", "a stop sequence ends the answer")
async def stop(ctx: ProbeContext, model: str) -> str:
    msgs: Any = [{"role": "user", "content": "Repeat exactly, with nothing else: alpha beta gamma delta"}]
    r = await ctx.client.chat.completions.create(model=model, messages=msgs, stop=["gamma"])
    text = _text(r)
    low = text.lower()
    ensure("gamma" not in low and "delta" not in low, f"the stop sequence was ignored: {short(text, 60)!r}")
    ensure(_one_choice(r).finish_reason == "stop", f"finish_reason is {_one_choice(r).finish_reason!r}")
    return f"stopped: {short(text, 40)!r}"


@probe("seed", "core", "seed is accepted")
async def seed(ctx: ProbeContext, model: str) -> str:
    r = await ctx.client.chat.completions.create(model=model, messages=PING, seed=7, temperature=0)
    _text(r)
    fp = getattr(r, "system_fingerprint", None)
    return "accepted" + (f"; system_fingerprint {fp}" if fp else "")


@probe("logprobs", "core", "logprobs with top_logprobs")
async def logprobs(ctx: ProbeContext, model: str) -> str:
    r = await ctx.client.chat.completions.create(model=model, messages=PING, logprobs=True, top_logprobs=2)
    lp = _one_choice(r).logprobs
    ensure(lp is not None and lp.content, "accepted, but the answer carries no logprobs")
    assert lp is not None and lp.content is not None
    first = lp.content[0]
    ensure(isinstance(first.token, str) and isinstance(first.logprob, float), "malformed logprobs entry")
    ensure(first.top_logprobs, "no top_logprobs")
    return f"{len(lp.content)} tokens with logprobs"


async def _limited(ctx: ProbeContext, model: str, field: str) -> str:
    msgs: Any = [{"role": "user", "content": "Count from 1 to 50, separated by spaces."}]
    limit = 5
    if field == "max_tokens":
        r = await ctx.client.chat.completions.create(model=model, messages=msgs, max_tokens=limit)
    else:
        r = await ctx.client.chat.completions.create(model=model, messages=msgs, max_completion_tokens=limit)
    ch = _one_choice(r)
    if r.usage is not None and r.usage.completion_tokens:
        used = r.usage.completion_tokens
    else:
        used = len((ch.message.content or "").split())
    ensure(used <= limit, f"ignored: {used} completion tokens > {limit}")
    ensure(ch.finish_reason in ("length", "stop"), f"finish_reason is {ch.finish_reason!r}")
    return f"{used} completion tokens, finish_reason {ch.finish_reason}"


@probe("max_completion_tokens", "core", "max_completion_tokens limits the answer")
async def max_completion_tokens(ctx: ProbeContext, model: str) -> str:
    return await _limited(ctx, model, "max_completion_tokens")


@probe("max_tokens", "core", "max_tokens (legacy) limits the answer")
async def max_tokens(ctx: ProbeContext, model: str) -> str:
    return await _limited(ctx, model, "max_tokens")


@probe("temperature_range", "core", "OpenAI's full ranges: temperature 0 and 2, top_p 1")
async def temperature_range(ctx: ProbeContext, model: str) -> str:
    await ctx.client.chat.completions.create(model=model, messages=PING, temperature=0, top_p=1)
    await ctx.client.chat.completions.create(model=model, messages=PING, temperature=2, max_tokens=5)
    return "temperature 0 and 2, top_p 1 accepted"


# an 8×8 red PNG
_RED_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP4z8CAFWEXHbQSACj/P8Fu7N9hAAAAAElFTkSuQmCC"
)


@probe("vision", "vision", "an image_url content part (data URL)")
async def vision(ctx: ProbeContext, model: str) -> str:
    msgs: Any = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What colour is this image? Answer with one word."},
                {
                    "type": "image_url",
                    "image_url": {"url": f"data:image/png;base64,{_RED_PNG}", "detail": "low"},
                },
            ],
        }
    ]
    r = await ctx.client.chat.completions.create(model=model, messages=msgs)
    text = _text(r)
    ensure(text.strip(), "message.content is empty")
    seen = "red" in text.lower() or "红" in text
    return "accepted; " + (
        "named the colour" if seen else f"did not name the colour (red): {short(text, 40)!r}"
    )
