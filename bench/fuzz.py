"""Fuzz every route of a running banjia: ``python -m bench.fuzz`` (about a minute and a half).

banjia runs as ``banjia serve`` (its own process, a SQLite store in a temporary folder, the master
key) in front of the fake OpenAI-dialect upstream of the test suite (``tests/fakes``), reached as
an ``openai`` provider and as a ``dashscope`` one. Two generators then send requests:

1. **mutations** (``--requests``, default 10,000): a valid request for a route, changed one to
   three times at random — a field set to a hostile value (huge or negative numbers, NUL and
   control characters, deep nesting, wrong types, long strings), a field removed, an unknown field
   added; or the body replaced by bad JSON (truncated, not UTF-8, NaN, a lone surrogate, 10,000
   levels of brackets, not an object); or a hostile path parameter or query string; or no key, a
   wrong key, a client key on an admin route, a key with a quota. Every route is covered: the
   OpenAI ones, the admin API (master key), health, metrics and the OpenAPI document.
2. **schemathesis** (``--schemathesis-examples``, default 20 per operation; 0 skips it), driven by
   ``/openapi.json`` with its examples, coverage (every boundary of every schema) and fuzzing
   phases, checking that no answer is a 5xx and that answers match the document.

The run fails (exit 1) on any answer of 500, any connection dropped without an answer, or a
gateway that no longer answers ``/healthz`` at the end. Each 5xx is printed as request → answer.
The seed (``--seed``) makes a run repeatable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.procs import Server, free_port, start, stop

__all__ = ["Case", "Outcome", "generate", "main"]

MASTER = "sk-banjia-fuzz-master"
_CLIENT_KEYS: dict[str, str] = {}  # "plain" and "quota": client keys made through the admin API


@dataclass(slots=True)
class Case:
    method: str
    path: str
    body: bytes | None = None
    key: str | None = "master"  # "master", "plain", "quota", "wrong" or None
    content_type: str = "application/json"
    what: str = ""


@dataclass
class Outcome:
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_route: dict[str, Counter[int]] = field(default_factory=dict)
    server_errors: list[tuple[Case, int, str]] = field(default_factory=list)
    dropped: list[tuple[Case, str]] = field(default_factory=list)


# -- hostile values -------------------------------------------------------------------------------
_DEEP = 300  # parses (the JSON decoder allows more), deeper than the upstream encoder goes


def _nested(depth: int) -> Any:
    v: Any = 1
    for i in range(depth):
        v = [v] if i % 2 else {"a": v}
    return v


HOSTILE: list[Any] = [
    None, True, False, 0, -1, 1, 2, 3, 128, 129, 2**31, 2**31 - 1, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1,
    -(2**63) - 1, 10**30, 2.2e15, 1e12, -1e20, 1e308, -1e308, 5e-324, 0.5, -0.0, 1000000000,
    "", " ", "x", "\u0000", "x\u0000", "a\r\nb", "\x7f", "\x1b[31m", "模型", "z/模型", "𝔘𝔫𝔦", "yes", "true",
    "1", "null", "-1", "99999999d", "7d", "1e999", "2026-13-45", "../../etc/passwd", "gpt-4o",
    "local/default", "fake/echo", "A" * 5000, [], {}, [1] * 300, ["x"] * 50, [[15339, 1917]],
    [15339, 1917], [[]], [-1], [[10**12]], {"a": "b"}, {"type": {}}, [{"type": []}], _nested(_DEEP),
    _nested(40), {"role": "user", "content": "x\u0000"}, {"role": "wizard"}, [None],
]

USER = [{"role": "user", "content": "hello world"}]

# (method, path, a valid body or None, the key to use)
TEMPLATES: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("POST", "/v1/chat/completions", {"model": "gpt-4o", "messages": USER, "max_tokens": 16}, "master"),
    ("POST", "/v1/chat/completions", {"model": "gpt-4o", "messages": USER, "stream": True,
                                      "stream_options": {"include_usage": True}}, "quota"),
    ("POST", "/v1/chat/completions",
     {"model": "qwen-chat", "messages": USER, "temperature": 0.5, "tools": [
         {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}, "plain"),
    ("POST", "/v1/completions", {"model": "gpt-4o", "prompt": "Once upon", "max_tokens": 8}, "master"),
    ("POST", "/v1/completions", {"model": "gpt-4o", "prompt": "Once", "stream": True}, "quota"),
    ("POST", "/v1/embeddings", {"model": "text-embedding-3-small", "input": "hello"}, "master"),
    ("POST", "/v1/embeddings", {"model": "qwen-embed", "input": [[15339, 1917]], "dimensions": 8}, "quota"),
    ("POST", "/v1/embeddings",
     {"model": "text-embedding-3-small", "input": [15339, 1917], "encoding_format": "base64"}, "plain"),
    ("POST", "/v1/responses", {"model": "gpt-4o", "input": "hello", "max_output_tokens": 32}, "master"),
    ("POST", "/v1/responses", {"model": "gpt-4o", "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "hi"}]}], "stream": True}, "quota"),
    ("POST", "/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": USER,
                              "system": [{"type": "text", "text": "be brief",
                                          "cache_control": {"type": "ephemeral"}}]}, "master"),
    ("POST", "/v1/messages", {"model": "gpt-4o", "max_tokens": 16, "stream": True, "messages": USER,
                              "thinking": {"type": "adaptive"}, "stop_sequences": ["x"],
                              "tools": [{"name": "f", "input_schema": {"type": "object"}}],
                              "tool_choice": {"type": "auto"}}, "quota"),
    ("POST", "/v1/messages/count_tokens", {"model": "claude-haiku-4-5", "messages": USER}, "plain"),
    ("POST", "/v1/batches", {"input_file_id": "file-nope", "endpoint": "/v1/chat/completions",
                             "completion_window": "24h"}, "master"),
    ("GET", "/v1/batches", None, "plain"),
    ("GET", "/v1/responses/{id}", None, "master"),
    ("DELETE", "/v1/responses/{id}", None, "master"),
    ("GET", "/v1/models", None, "plain"),
    ("GET", "/v1/models/{id}", None, "master"),
    ("GET", "/healthz", None, "master"),
    ("GET", "/readyz", None, "master"),
    ("GET", "/metrics", None, "master"),
    ("GET", "/openapi.json", None, "master"),
    ("POST", "/admin/keys", {"name": "fuzz", "quota_tokens": 1000, "quota_cny": 1.5, "models": ["gpt-4o"],
                             "rpm": 100, "tpm": 100000, "expires_at": "2030-01-01T00:00:00Z"}, "master"),
    ("GET", "/admin/keys", None, "master"),
    ("GET", "/admin/keys/{id}", None, "master"),
    ("DELETE", "/admin/keys/{id}", None, "master"),
    ("POST", "/admin/keys/{id}/grants", {"tokens": 100, "cny": 0.5, "note": "top-up"}, "master"),
    ("GET", "/admin/usage", None, "master"),
    ("GET", "/admin/requests", None, "master"),
]

QUERIES: dict[str, list[str]] = {
    "/admin/usage": ["since", "by"],
    "/admin/requests": ["limit", "status", "key_id", "model"],
    "/admin/keys": ["active"],
    "/v1/responses/{id}": ["stream"],
    "/v1/batches": ["after", "limit"],
}

BAD_BODIES: list[bytes] = [
    b"", b"{", b"{not json", b'{"model": "gpt-4o",}', b"[1, 2]", b'"text"', b"null", b"12", b"\xff\xfe{}",
    b"\xef\xbb\xbf{}", b'{"model": NaN}', b'{"model": "\\ud800"}', b'{"a": 1e999}', b"[" * 10_000,
    b'{"a":' * 5000, b'{"model": "gpt-4o", "model": 5}', b"\x00\x00\x00", "{\"model\": \"\u0000\"}".encode(),
    b'{"messages": [{"role": "user", "content": "x"}], "model": "gpt-4o", "stream": "yes"}',
    b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "max_tokens": 2.2e15}',
]


def _dumps(obj: Any, rng: random.Random) -> bytes:
    try:
        return orjson.dumps(obj)
    except (TypeError, orjson.JSONEncodeError):  # beyond 64-bit integers, too deep: the stdlib writes them
        return json.dumps(obj, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


def _mutate(body: dict[str, Any], rng: random.Random) -> tuple[dict[str, Any], str]:
    body = json.loads(json.dumps(body))  # a deep copy
    notes: list[str] = []
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        # a container somewhere inside the body, and a key of it
        target: Any = body
        for _ in range(rng.randint(0, 3)):
            inner = [v for v in (target.values() if isinstance(target, dict) else target)
                     if isinstance(v, dict | list) and v]
            if not inner:
                break
            target = rng.choice(inner)
        value = rng.choice(HOSTILE)
        if isinstance(value, dict | list):  # a copy: later mutations must not change the pool
            value = json.loads(json.dumps(value))
        if isinstance(target, dict):
            if roll < 0.6 and target:
                k = rng.choice(list(target))
                target[k] = value
                notes.append(f"{k}={_short(value)}")
            elif roll < 0.8 and target:
                k = rng.choice(list(target))
                del target[k]
                notes.append(f"-{k}")
            else:
                k = rng.choice(["extra", "nested", "\u0000", "x" * 300, "metadata", "logit_bias", "seed"])
                target[k] = value
                notes.append(f"+{_short(k)}={_short(value)}")
        elif isinstance(target, list) and target:
            i = rng.randrange(len(target))
            target[i] = value
            notes.append(f"[{i}]={_short(value)}")
    return body, ", ".join(notes)


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


_PATH_IDS = ["k_missing", "resp_missing", "gpt-4o", "fake/echo", "%00", "a%0d%0ab", "%2F..%2F",
             "模型", "x" * 2000, "%FF", "-1", "0", "' OR 1=1 --"]


def generate(n: int, seed: int) -> list[Case]:
    """``n`` requests, the same for the same seed."""
    rng = random.Random(seed)
    cases: list[Case] = []
    for i in range(n):
        method, path, body, key = TEMPLATES[i % len(TEMPLATES)]
        what = "valid"
        roll = rng.random()
        if "{id}" in path:
            real = ("{key_id}" if path.startswith("/admin") else
                    "{response_id}" if path.startswith("/v1/responses") else "gpt-4o")
            ident = rng.choice(_PATH_IDS) if roll < 0.5 else real
            path = path.replace("{id}", ident if "%" in ident else urllib.parse.quote(ident, safe="{}"))
            what = f"id={_short(ident)}"
        data: bytes | None = None
        if body is not None:
            if roll < 0.15:
                data = rng.choice(BAD_BODIES)
                what = f"raw body {_short(data)}"
            elif roll < 0.9:
                mutated, what = _mutate(body, rng)
                data = _dumps(mutated, rng)
            else:
                data = _dumps(body, rng)
        qs = QUERIES.get(TEMPLATES[i % len(TEMPLATES)][1])
        if qs and rng.random() < 0.8:
            params = {q: str(rng.choice(HOSTILE[:60])) for q in rng.sample(qs, rng.randint(1, len(qs)))}
            path += "?" + urllib.parse.urlencode(params)
            what = f"query {_short(params)}"
        roll = rng.random()
        if roll < 0.03:
            key, what = None, what + "; no key"
        elif roll < 0.06:
            key, what = "wrong", what + "; wrong key"
        elif roll < 0.09 and path.startswith("/admin"):
            key, what = "plain", what + "; client key"
        elif roll < 0.11:
            method, what = rng.choice(["PUT", "PATCH", "GET", "DELETE", "OPTIONS"]), what + "; method"
        ctype = "application/json" if rng.random() > 0.03 else "text/plain"
        cases.append(Case(method, path, data, key, ctype, what))
    return cases


# -- running ------------------------------------------------------------------------------------
def _route(path: str) -> str:
    p = path.split("?")[0]
    p = re.sub(r"^/admin/keys/[^/]+", "/admin/keys/{id}", p)
    p = re.sub(r"^/v1/responses/.+", "/v1/responses/{id}", p)
    return re.sub(r"^/v1/models/.+", "/v1/models/{id}", p)


async def _send(client: httpx.AsyncClient, case: Case, ids: dict[str, str], out: Outcome) -> None:
    path = case.path.replace("{key_id}", ids["key"]).replace("{response_id}", ids["response"])
    headers = {"content-type": case.content_type}
    if case.key is not None:
        headers["authorization"] = f"Bearer {ids.get(case.key, 'sk-banjia-wrong-0000000000')}"
    try:
        r = await client.request(case.method, path, content=case.body, headers=headers)
    except httpx.HTTPError as e:
        out.dropped.append((case, f"{type(e).__name__}: {e}"))
        return
    out.sent += 1
    out.statuses[r.status_code] += 1
    out.by_route.setdefault(f"{case.method} {_route(case.path)}", Counter())[r.status_code] += 1
    if r.status_code >= 500:
        out.server_errors.append((case, r.status_code, r.text[:300]))


async def _setup(base: str) -> dict[str, str]:
    """Client keys (one plain, one with a quota, one for the routes that name a key, which may revoke
    it) and a stored response, for the routes that need them."""
    auth = {"authorization": f"Bearer {MASTER}"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        plain = (await c.post("/admin/keys", json={"name": "fuzz-plain"}, headers=auth)).json()
        quota = (await c.post("/admin/keys", json={"name": "fuzz-quota", "quota_tokens": 100_000},
                              headers=auth)).json()
        target = (await c.post("/admin/keys", json={"name": "fuzz-target"}, headers=auth)).json()
        resp = (await c.post("/v1/responses", json={"model": "gpt-4o", "input": "hi"}, headers=auth)).json()
    return {"master": MASTER, "plain": plain["key"], "quota": quota["key"], "wrong": "sk-banjia-wrong-0",
            "key": target["id"], "response": resp["id"]}


async def _fuzz(base: str, cases: list[Case], concurrency: int) -> Outcome:
    ids = await _setup(base)
    out = Outcome()
    queue: asyncio.Queue[Case] = asyncio.Queue()
    for c in cases:
        queue.put_nowait(c)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                await _send(client, queue.get_nowait(), ids, out)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return out


def _schemathesis(base: str, examples: int, seed: int, workdir: Path) -> tuple[int, int, str]:
    """Runs the schemathesis CLI over /openapi.json: (test cases, failures, its summary)."""
    st = Path(sys.executable).with_name("st")
    argv = [str(st), "run", f"{base}/openapi.json", "--phases", "examples,coverage,fuzzing",
            "--max-examples", str(examples), "--seed", str(seed), "--workers", "2",
            "--header", f"Authorization: Bearer {MASTER}",
            "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance",
            "--continue-on-failure", "--suppress-health-check", "all", "--no-color"]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=workdir, timeout=900, check=False)
    text = proc.stdout + proc.stderr
    generated = sum(int(n) for n in re.findall(r"(\d+) generated", text))
    failures = 0 if proc.returncode == 0 else max(1, len(re.findall(r"^_+ .+ _+$", text, re.M)))
    return generated, failures, text


def _config(port: int, fake_url: str, db: Path) -> dict[str, Any]:
    fake = {"base_url": f"{fake_url}/v1", "api_key": "sk-fake-upstream"}
    return {
        "server": {"host": "127.0.0.1", "port": port, "master_key": MASTER, "access_log": False},
        "store": {"url": f"sqlite:///{db}"},
        "providers": {"fake": {"type": "openai", **fake}, "ds": {"type": "dashscope", **fake}},
        "models": {
            "gpt-4o": ["fake/echo"],
            "qwen-chat": ["ds/echo"],
            "text-embedding-3-small": ["fake/embed"],
            "qwen-embed": ["ds/embed"],
            "fallback-model": ["fake/e503", "fake/echo"],
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=10_000, help="mutated requests (default 10,000)")
    ap.add_argument("--schemathesis-examples", type=int, default=20,
                    help="schemathesis examples per operation and phase (0: skip schemathesis)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args(argv)

    from tests.fakes.openai_fake import FakeOpenAI
    from tests.harness import AioServer

    fake = FakeOpenAI()
    fake_server = AioServer(fake.app, "fuzz-fake")
    workdir = Path(tempfile.mkdtemp(prefix="banjia-fuzz-"))
    port = free_port()
    cfg = workdir / "banjia.yaml"
    cfg.write_bytes(orjson.dumps(_config(port, fake_server.url, workdir / "banjia.db")))
    exe = Path(sys.executable).with_name("banjia")
    gw = start("banjia", [str(exe), "serve", "--config", str(cfg), "--port", str(port), "--log-level",
                          "warning"], port, workdir)
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        _wait(gw, base)
        cases = generate(args.requests, args.seed)
        out = asyncio.run(_fuzz(base, cases, args.concurrency))
        fuzz_s = time.monotonic() - started
        st_cases = st_failures = 0
        st_text = ""
        if args.schemathesis_examples:
            st_cases, st_failures, st_text = _schemathesis(
                base, args.schemathesis_examples, args.seed, workdir
            )
        alive = _alive(base)
    finally:
        stop(gw)
        fake_server.stop()
    ok = _report(out, fuzz_s, st_cases, st_failures, st_text, alive, gw)
    if ok:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"gateway log and config kept in {workdir}")
    return 0 if ok else 1


def _wait(gw: Server, base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if gw.proc.poll() is not None:
            raise SystemExit(f"banjia exited with {gw.proc.returncode}:\n{gw.log_tail()}")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"banjia did not start:\n{gw.log_tail()}")


def _alive(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def _report(out: Outcome, seconds: float, st_cases: int, st_failures: int, st_text: str, alive: bool,
            gw: Server) -> bool:
    print(f"mutated requests: {out.sent + len(out.dropped):,} in {seconds:.0f} s; "
          f"statuses {dict(sorted(out.statuses.items()))}")
    for route, counts in sorted(out.by_route.items()):
        print(f"  {route:<34} {dict(sorted(counts.items()))}")
    fives = [e for e in out.server_errors if e[1] == 500]
    print(f"responses of 500: {len(fives)}; other 5xx (upstream failures, unavailable store): "
          f"{len(out.server_errors) - len(fives)}; dropped connections: {len(out.dropped)}")
    seen: set[tuple[str, str]] = set()
    for case, status, text in out.server_errors:
        sig = (f"{case.method} {_route(case.path)}", text[:80])
        if sig in seen:
            continue
        seen.add(sig)
        body = (case.body or b"")[:200].decode("utf-8", "replace")
        print(f"  {case.method} {case.path[:120]} ({case.what}) body={body!r}\n    → {status} {text[:200]}")
    for case, err in out.dropped[:20]:
        body = (case.body or b"")[:200].decode("utf-8", "replace")
        print(f"  DROPPED {case.method} {case.path[:120]} ({case.what}) body={body!r}: {err}")
    if st_cases or st_failures:
        print(f"schemathesis: {st_cases:,} test cases, {st_failures} failing operations")
        if st_failures:
            print(st_text[-6000:])
    print(f"total requests: {out.sent + len(out.dropped) + st_cases:,}; gateway alive at the end: {alive}")
    if not alive:
        print(gw.log_tail())
    return not fives and not out.dropped and not st_failures and alive


if __name__ == "__main__":
    raise SystemExit(main())
