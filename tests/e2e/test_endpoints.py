"""Embeddings, legacy completions, models, health: shapes checked by the strict openai SDK."""

from __future__ import annotations

import base64
import math
import struct
import time

import httpx
import openai
import orjson
import pytest

from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}


def test_embeddings_float_in_input_order(client: openai.OpenAI) -> None:
    r = client.embeddings.create(
        model="text-embedding-3-small", input=["alpha", "beta gamma"], encoding_format="float"
    )
    assert [d.index for d in r.data] == [0, 1]
    assert len(r.data[0].embedding) == 16
    assert r.usage.prompt_tokens == 3
    assert r.model == "text-embedding-3-small"


def test_embeddings_base64_decodes_to_the_float_vector(gateway: Gateway) -> None:
    # the SDK asks for base64 by default; strict mode validates before decoding, so use a plain client
    plain = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    as_b64 = plain.embeddings.create(model="text-embedding-3-small", input="alpha")
    as_float = plain.embeddings.create(model="text-embedding-3-small", input="alpha", encoding_format="float")
    assert as_b64.data[0].embedding == pytest.approx(as_float.data[0].embedding, abs=1e-6)
    raw = httpx.post(
        gateway.base_url + "/embeddings",
        headers=AUTH,
        json={"model": "text-embedding-3-small", "input": "alpha", "encoding_format": "base64"},
    ).json()
    vec = struct.unpack("<16f", base64.b64decode(raw["data"][0]["embedding"]))
    assert list(vec) == pytest.approx(as_float.data[0].embedding, abs=1e-6)


def test_embeddings_dimensions_shorten_and_renormalise(client: openai.OpenAI) -> None:
    r = client.embeddings.create(
        model="text-embedding-3-small", input="alpha", dimensions=4, encoding_format="float"
    )
    v = r.data[0].embedding
    assert len(v) == 4 and math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-6)


def test_embeddings_on_a_vendor_without_them_is_a_clear_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.embeddings.create(model="deepseek/anything", input="x")
    assert "deepseek" in e.value.message


def test_completions_native_upstream(client: openai.OpenAI) -> None:
    r = client.completions.create(model="fake/echo", prompt="one two")
    assert r.object == "text_completion"
    assert r.choices[0].text == "echo: one two"
    assert r.usage and r.usage.prompt_tokens == 2


def plain_client(g: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=g.base_url, api_key=MASTER_KEY, max_retries=0)


# Legacy completion chunks carry finish_reason null until the last one, as OpenAI's do; the SDK's
# Completion type has no null in that Literal, so strict mode would reject OpenAI itself here.
def test_completions_native_stream(gateway: Gateway) -> None:
    chunks = list(plain_client(gateway).completions.create(model="fake/echo", prompt="one two", stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "echo: one two"


def test_completions_over_chat_for_chat_only_vendors(client: openai.OpenAI, gateway: Gateway) -> None:
    r = client.completions.create(model="deepseek/echo", prompt="one two")
    assert r.choices[0].text == "echo: one two" and r.choices[0].finish_reason == "stop"
    chunks = list(
        plain_client(gateway).completions.create(
            model="deepseek/echo", prompt="one two", stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "echo: one two"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3


def test_models_lists_aliases_and_provider_models(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert "gpt-4o" in ids and "local/default" in ids
    assert all(m.object == "model" for m in client.models.list())


def test_model_retrieve_accepts_slashes(client: openai.OpenAI) -> None:
    assert client.models.retrieve("gpt-4o").owned_by == "banjia"
    assert client.models.retrieve("local/default").owned_by == "local"


def test_model_retrieve_unknown_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-17")


def test_health_and_readiness(gateway: Gateway) -> None:
    assert httpx.get(gateway.root + "/healthz").json() == {"status": "ok"}
    r = httpx.get(gateway.root + "/readyz")
    assert r.status_code == 200 and "local" in r.json()["providers"]
    assert r.headers["x-request-id"]


def test_openai_client_headers_and_cors_preflight_are_accepted(gateway: Gateway) -> None:
    r = httpx.options(
        gateway.base_url + "/chat/completions",
        headers={
            "Origin": "http://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,openai-organization,x-stainless-lang",
        },
    )
    assert r.status_code == 200
    r = httpx.post(
        gateway.base_url + "/chat/completions",
        headers={
            **AUTH,
            "OpenAI-Organization": "org-x",
            "OpenAI-Project": "p",
            "Idempotency-Key": "k1",
            "X-Stainless-Lang": "python",
        },
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 200


def test_unknown_fields_reach_the_upstream_on_aliases_too(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"vendor_knob": {"a": 1}},
        metadata={"k": "v"},
        store=False,
    )
    body = fake.state.requests[-1].body
    assert body["vendor_knob"] == {"a": 1} and body["metadata"] == {"k": "v"} and body["store"] is False


def test_client_disconnect_cancels_the_upstream(gateway: Gateway, fake: FakeOpenAI) -> None:
    before = fake.state.disconnects
    body = {
        "model": "fake/slowchunks:0.2",
        "stream": True,
        "messages": [{"role": "user", "content": "a b c d e f g h i j"}],
    }
    with httpx.stream("POST", gateway.base_url + "/chat/completions", json=body, headers=AUTH) as r:
        for line in r.iter_lines():
            if '"content":"echo:"' in line:
                break
    deadline = time.monotonic() + 5
    while fake.state.disconnects == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.state.disconnects == before + 1


def test_bad_input_tells_the_sdk_not_to_retry(gateway: Gateway) -> None:
    c = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=2)
    with pytest.raises(openai.BadRequestError) as e:
        c.chat.completions.create(model="gpt-4o", messages=[])
    assert e.value.response.headers["x-should-retry"] == "false"


def test_a_stream_dropped_before_its_first_byte_is_still_recorded_and_cancelled(
    gateway: Gateway, fake: FakeOpenAI
) -> None:
    """Starlette cancels a response whose client left without iterating its body; the gateway's
    clean-up must run anyway: the upstream is closed and the ledger gets its row."""
    import asyncio

    model = "fake/slowchunks:0.3"
    body = orjson.dumps(
        {"model": model, "stream": True, "messages": [{"role": "user", "content": "a b c d"}]}
    )
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "headers": [
            (b"authorization", f"Bearer {MASTER_KEY}".encode()),
            (b"content-type", b"application/json"),
        ],
    }
    before = fake.state.disconnects

    async def run() -> dict[str, object]:
        sent_body = False
        received = 0
        started = asyncio.Event()

        async def receive() -> dict[str, object]:
            nonlocal received
            received += 1
            if received == 1:
                return {"type": "http.request", "body": body, "more_body": False}
            await started.wait()  # the client leaves once the stream has started
            return {"type": "http.disconnect"}

        async def send(message: dict[str, object]) -> None:
            nonlocal sent_body
            if message["type"] == "http.response.start":
                started.set()
                await asyncio.sleep(1)  # the disconnect wins the race: the body is never iterated
            elif message["type"] == "http.response.body":
                sent_body = True

        await gateway.app(scope, receive, send)
        store = gateway.runtime.store
        await store.flush()
        report = await store.usage(by="model")
        return {"sent_body": sent_body, "rows": report["rows"]}

    out = gateway.call(run())
    assert out["sent_body"] is False
    rows = [r for r in out["rows"] if r["group"] == model]  # type: ignore[attr-defined]
    assert len(rows) == 1 and rows[0]["requests"] == 1
    deadline = time.monotonic() + 5
    while fake.state.disconnects == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.state.disconnects == before + 1
