"""The local model's tokens/s: llama-cpp-python called directly vs the same GGUF through banjia.

Both sides load the bundled SmolLM2 GGUF with the same settings (``n_ctx``, ``n_threads``), decode
greedily (temperature 0) from the same chat messages and stream; a token is a chunk with content,
as banjia's local provider counts them. The direct side is a child process (``python -m
bench.local``) that generates once per line it reads on stdin, so the two sides can take turns.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from bench.client import Connection

__all__ = ["PROMPT", "DirectModel", "Generation", "through_gateway"]

PROMPT = "Count from 1 to 200, separated by commas, and nothing else."


@dataclass
class Generation:
    tokens: int
    seconds: float  # from the request to the last token
    first_token_s: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict[str, float | int]:
        return {**asdict(self), "tokens_per_s": self.tokens_per_s}


def _messages() -> list[dict[str, str]]:
    return [{"role": "user", "content": PROMPT}]


async def through_gateway(port: int, headers: dict[str, str], model: str, max_tokens: int) -> Generation:
    body = orjson.dumps({"model": model, "messages": _messages(), "max_tokens": max_tokens,
                         "temperature": 0.0, "stream": True})
    tokens = 0
    first: float | None = None
    last = 0.0
    pending = b""

    def on_data(piece: bytes, now: float) -> None:
        nonlocal tokens, first, last, pending
        pending += piece
        *events, pending = pending.split(b"\n\n")
        for ev in events:
            if not ev.startswith(b"data: {"):
                continue
            chunk: dict[str, Any] = orjson.loads(ev[6:])
            for ch in chunk.get("choices") or ():
                if (ch.get("delta") or {}).get("content"):
                    tokens += 1
                    last = now
                    if first is None:
                        first = now

    conn = Connection("127.0.0.1", port)
    try:
        reply = await conn.request("POST", "/v1/chat/completions", body,
                                   {"content-type": "application/json", **headers}, on_data)
    finally:
        await conn.close()
    if reply.status != 200:
        raise RuntimeError(f"local model through banjia: status {reply.status}: {reply.body[:300]!r}")
    return Generation(tokens, last - reply.sent, (first or last) - reply.sent)


class DirectModel:
    """The child process that runs llama-cpp-python itself."""

    def __init__(self, model_path: str, n_threads: int, n_ctx: int, max_tokens: int) -> None:
        self.argv = [sys.executable, "-m", "bench.local", "--model", model_path, "--threads", str(n_threads),
                     "--ctx", str(n_ctx), "--max-tokens", str(max_tokens)]
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        await self._read()  # "loaded"

    async def _read(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        line = await asyncio.wait_for(self._proc.stdout.readline(), 300)
        if not line:
            raise RuntimeError("the direct llama-cpp-python process exited")
        got: dict[str, Any] = orjson.loads(line)
        return got

    async def generate(self) -> Generation:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(b"go\n")
        await self._proc.stdin.drain()
        got = await self._read()
        return Generation(got["tokens"], got["seconds"], got["first_token_s"])

    async def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            await asyncio.wait_for(self._proc.wait(), 30)
        except TimeoutError:
            self._proc.kill()
            await self._proc.wait()


def _serve_direct(args: argparse.Namespace) -> None:
    from llama_cpp import Llama

    llm = Llama(args.model, n_ctx=args.ctx, n_threads=args.threads, verbose=False)
    sys.stdout.write('{"loaded": true}\n')
    sys.stdout.flush()
    for _ in sys.stdin:
        tokens = 0
        first = last = 0.0
        started = time.perf_counter()
        messages: Any = _messages()
        stream: Any = llm.create_chat_completion(messages=messages, max_tokens=args.max_tokens,
                                                 temperature=0.0, stream=True)
        for c in stream:
            if c["choices"] and c["choices"][0]["delta"].get("content"):
                tokens += 1
                last = time.perf_counter()
                if not first:
                    first = last
        gen = Generation(tokens, last - started, (first or last) - started)
        sys.stdout.write(orjson.dumps(gen.to_json()).decode() + "\n")
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.local")
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--max-tokens", type=int, default=128)
    _serve_direct(parser.parse_args())


if __name__ == "__main__":
    main()
