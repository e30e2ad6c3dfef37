"""Zhipu GLM (``zhipu``) with ``auth: jwt`` and ``auth: bearer``: the token against the documented
claims, PyJWT and the official SDK's signer; then the gateway end to end through a fake that verifies
every token's signature and expiry exactly."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt as pyjwt
import openai
import pytest
import zhipuai
from zhipuai.model_api.api import InvokeType, ModelAPI
from zhipuai.utils import jwt_token

from banjia.adaptors.zhipu import TOKEN_TTL, ZhipuAdaptor, sign_token
from banjia.errors import UpstreamError
from tests.conftest import strict_client
from tests.fakes.zhipu_fake import API_KEY, KEY_ID, KEY_SECRET, FakeZhipu, verify
from tests.harness import MASTER_KEY, AioServer, Gateway
from tests.native._common import no_fetch

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
USER = [{"role": "user", "content": "hello there world"}]
NOW = 1_700_000_000.0


def part(token: str, i: int) -> dict[str, Any]:
    raw = token.split(".")[i]
    out: dict[str, Any] = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    return out


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def adaptor(jwt: bool = True, api_key: str = API_KEY, clock: Any = None) -> ZhipuAdaptor:
    return ZhipuAdaptor(
        "zp",
        no_fetch,
        base_url="https://zhipu.example/api/paas/v4",
        api_key=api_key,
        jwt=jwt,
        clock=clock or Clock(),
    )


# -- the token -----------------------------------------------------------------------------------
def test_token_has_the_documented_header_and_millisecond_claims() -> None:
    token = sign_token(API_KEY, NOW)
    assert part(token, 0) == {"alg": "HS256", "sign_type": "SIGN", "typ": "JWT"}
    assert part(token, 1) == {
        "api_key": KEY_ID,
        "exp": int((NOW + TOKEN_TTL) * 1000),
        "timestamp": int(NOW * 1000),
    }


def test_token_verifies_with_pyjwt_and_the_secret() -> None:
    token = sign_token(API_KEY, time.time())
    claims = pyjwt.decode(token, KEY_SECRET, algorithms=["HS256"])
    assert claims["api_key"] == KEY_ID
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.decode(token, "another-secret-another-secret-xxxx", algorithms=["HS256"])


def test_token_is_byte_for_byte_the_official_sdks_for_the_same_instant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jwt_token.time, "time", lambda: NOW)
    theirs = jwt_token.generate_token.__wrapped__(API_KEY)  # type: ignore[attr-defined]
    assert sign_token(API_KEY, NOW, ttl=jwt_token.API_TOKEN_TTL_SECONDS) == theirs


def test_token_is_cached_for_its_lifetime_and_renewed_before_expiry() -> None:
    clock = Clock()
    a = adaptor(clock=clock)
    first = a.headers()["Authorization"]
    clock.now += TOKEN_TTL - 61
    assert a.headers()["Authorization"] == first
    clock.now += 2
    renewed = a.headers()["Authorization"]
    assert renewed != first and part(renewed.removeprefix("Bearer "), 1)["timestamp"] == int(clock.now * 1000)


def test_jwt_goes_in_a_bearer_header() -> None:
    auth = adaptor().headers()["Authorization"]
    assert auth.startswith("Bearer ") and verify(auth, now_ms=int(NOW * 1000)) == part(auth[7:], 1)


def test_bearer_mode_sends_the_key_itself() -> None:
    assert adaptor(jwt=False).headers()["Authorization"] == f"Bearer {API_KEY}"


def test_jwt_mode_with_a_key_that_is_not_id_dot_secret_is_a_401_naming_the_provider() -> None:
    with pytest.raises(UpstreamError) as e:
        adaptor(api_key="no-dot-here").headers()
    assert e.value.status == 401 and "'zp'" in e.value.message


# -- the fake's verifier refuses what Zhipu refuses ----------------------------------------------
def test_fake_refuses_a_token_signed_with_another_secret() -> None:
    forged = sign_token(f"{KEY_ID}.not-the-secret", time.time())
    assert verify(f"Bearer {forged}") == (1004, "Authorization Token验证失败。")


def test_fake_refuses_claims_in_seconds_as_expired() -> None:
    now = int(time.time())
    token = pyjwt.encode(
        {"api_key": KEY_ID, "exp": now + 600, "timestamp": now},
        KEY_SECRET,
        algorithm="HS256",
        headers={"alg": "HS256", "sign_type": "SIGN"},
    )
    assert verify(token)[0] == 1003  # type: ignore[index]


def test_fake_refuses_a_header_without_sign_type() -> None:
    token = pyjwt.encode(
        {"api_key": KEY_ID, "exp": int(time.time() * 1000) + 60_000, "timestamp": int(time.time() * 1000)},
        KEY_SECRET,
        algorithm="HS256",
    )
    assert verify(token)[0] == 1002  # type: ignore[index]


def test_fake_refuses_a_missing_header_and_an_unknown_key() -> None:
    assert verify(None)[0] == 1001  # type: ignore[index]
    assert verify("Bearer someone.else")[0] == 1000  # type: ignore[index]


# -- end to end ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeZhipu]:
    f = FakeZhipu()
    server = AioServer(f.app, "zhipu-fake")
    f.url = server.url  # type: ignore[attr-defined]
    yield f
    server.stop()


@pytest.fixture(scope="module")
def gateway(fake: FakeZhipu, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    def provider(**kw: Any) -> dict[str, Any]:
        base = fake.url + "/api/paas/v4"  # type: ignore[attr-defined]
        return {"type": "zhipu", "base_url": base, "api_key": API_KEY, "auth": "jwt", **kw}

    g = Gateway(
        {
            "server": {"master_key": MASTER_KEY},
            "store": {"url": f"sqlite:///{tmp_path_factory.mktemp('zp') / 'banjia.db'}"},
            "providers": {
                "zp": provider(),
                "zp_bearer": provider(auth="bearer"),
                # separate accounts for errors that take a provider out of rotation
                "zp_arrears": provider(),
                "zp_badsecret": provider(api_key=f"{KEY_ID}.wrong-secret"),
                "zp_slow": provider(timeouts={"first_byte": 0.5}),
            },
            "models": {"gpt-4o": ["zp/glm-4-plus"]},
        }
    )
    yield g
    g.stop()


@pytest.fixture(scope="module")
def client(gateway: Gateway) -> openai.OpenAI:
    return strict_client(gateway)


def test_e2e_jwt_answer(client: openai.OpenAI, fake: FakeZhipu) -> None:
    r = client.chat.completions.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
    assert r.choices[0].message.content == "echo: hello there world"
    assert r.usage is not None and (r.usage.prompt_tokens, r.usage.completion_tokens) == (3, 4)
    assert fake.last.claims is not None and fake.last.claims["api_key"] == KEY_ID
    assert KEY_SECRET not in fake.last.authorization


def test_e2e_the_token_is_reused_across_requests(client: openai.OpenAI, fake: FakeZhipu) -> None:
    client.chat.completions.create(model="zp/glm-4-plus", messages=USER)  # type: ignore[arg-type]
    first = fake.last.authorization
    client.chat.completions.create(model="zp/glm-4-plus", messages=USER)  # type: ignore[arg-type]
    assert fake.last.authorization == first


def test_e2e_bearer_mode_sends_the_key(client: openai.OpenAI, fake: FakeZhipu) -> None:
    r = client.chat.completions.create(model="zp_bearer/glm-4-flash", messages=USER)  # type: ignore[arg-type]
    assert r.choices[0].message.content == "echo: hello there world"
    assert fake.last.authorization == f"Bearer {API_KEY}" and fake.last.claims is None


def test_e2e_stream_reassembles_and_reports_usage_when_asked(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="zp/glm-4-plus", messages=USER, stream=True, stream_options={"include_usage": True}
        )  # type: ignore[call-overload]
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hello there world"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 7


def test_e2e_multi_turn_with_system(client: openai.OpenAI, fake: FakeZhipu) -> None:
    msgs = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "answer"},
        {"role": "user", "content": "second question"},
    ]
    r = client.chat.completions.create(model="zp/glm-4-plus", messages=msgs)  # type: ignore[arg-type]
    assert r.choices[0].message.content == "echo: second question"
    assert [m["role"] for m in fake.last.body["messages"]] == ["system", "user", "assistant", "user"]


def test_e2e_parameters_are_clamped_into_zhipus_ranges(client: openai.OpenAI, fake: FakeZhipu) -> None:
    client.chat.completions.create(model="zp/glm-4-plus", messages=USER, temperature=1.6, top_p=1.0)  # type: ignore[arg-type]
    assert fake.last.body["temperature"] == 1.0 and 0 < fake.last.body["top_p"] < 1


def test_e2e_tool_call(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="zp/tools", messages=USER, tools=[WEATHER])  # type: ignore[arg-type, list-item]
    call = (r.choices[0].message.tool_calls or [])[0]
    assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Beijing", "unit": "c"}  # type: ignore[union-attr]


def test_e2e_streamed_tool_call_reassembles_in_the_sdk_helper(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(model="zp/tools", messages=USER, tools=[WEATHER]) as s:  # type: ignore[arg-type, list-item]
        final = s.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert [c.id for c in calls] == ["call_zp1"]
    assert json.loads(calls[0].function.arguments) == {"city": "Beijing", "unit": "c"}
    assert final.choices[0].finish_reason == "tool_calls"


def test_e2e_sensitive_finish_is_content_filter(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="zp/sensitive", messages=USER)  # type: ignore[arg-type]
    assert r.choices[0].finish_reason == "content_filter"
    chunks = list(client.chat.completions.create(model="zp/sensitive", messages=USER, stream=True))  # type: ignore[call-overload]
    assert chunks[-1].choices[0].finish_reason == "content_filter"


def test_e2e_network_error_finish_is_an_upstream_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as e:
        client.chat.completions.create(model="zp/network_error", messages=USER)  # type: ignore[arg-type]
    assert e.value.status_code == 502 and "network_error" in e.value.message


def test_e2e_moderation_1301_is_400_content_filter(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="zp/filter", messages=USER)  # type: ignore[arg-type]
    assert e.value.code == "content_filter"


def test_e2e_concurrency_1302_is_429(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="zp/busy", messages=USER)  # type: ignore[arg-type]
    assert e.value.code == "rate_limit_exceeded"


def test_e2e_arrears_1113_is_429_insufficient_quota(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="zp_arrears/arrears", messages=USER)  # type: ignore[arg-type]
    assert e.value.code == "insufficient_quota"


def test_e2e_a_token_signed_with_a_wrong_secret_is_401_naming_the_provider(client: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as e:
        client.chat.completions.create(model="zp_badsecret/glm-4-plus", messages=USER)  # type: ignore[arg-type]
    assert "zp_badsecret" in e.value.message


def test_e2e_slow_upstream_is_504(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as e:
        client.chat.completions.create(model="zp_slow/slow:1", messages=USER)  # type: ignore[arg-type]
    assert e.value.status_code == 504


def test_e2e_embeddings_with_a_jwt(client: openai.OpenAI, fake: FakeZhipu) -> None:
    r = client.embeddings.create(model="zp/embedding-3", input=["one two", "three"], encoding_format="float")
    assert [d.index for d in r.data] == [0, 1] and r.usage.prompt_tokens == 3
    assert fake.last.claims is not None


# -- the official SDK ----------------------------------------------------------------------------
# zhipuai 1.0.7 (installed) is the old v1 SDK: it only calls the v3 "model-api" paths, so it cannot
# talk to a v4 endpoint. Its signer is still the reference for the token: the fake exposes the v3
# invoke path to check the token the SDK really sends, with the same verifier as v4.
def test_the_installed_sdk_only_speaks_v3() -> None:
    url = ModelAPI._build_api_url({"model": "glm-4"}, InvokeType.SYNC)
    assert url.endswith("/api/paas/v3/model-api/glm-4/invoke")


def test_official_sdk_token_is_accepted_by_the_fake(fake: FakeZhipu) -> None:
    saved = zhipuai.model_api_url, zhipuai.api_key
    zhipuai.model_api_url = fake.url + "/api/paas/v3/model-api"  # type: ignore[attr-defined]
    zhipuai.api_key = API_KEY
    try:
        r = zhipuai.model_api.invoke(model="chatglm_turbo", prompt=[{"role": "user", "content": "hi"}])
    finally:
        zhipuai.model_api_url, zhipuai.api_key = saved
    assert r["code"] == 200 and json.loads(r["data"]["choices"][0]["content"]) == "echo: hi"
    assert fake.last.claims is not None and fake.last.claims["api_key"] == KEY_ID
    assert not fake.last.authorization.startswith("Bearer ")  # 1.x sends the bare token


def test_official_sdk_token_has_our_tokens_structure() -> None:
    theirs = jwt_token.generate_token(API_KEY)
    ours = sign_token(API_KEY, time.time())
    assert part(theirs, 0) == part(ours, 0)
    assert set(part(theirs, 1)) == set(part(ours, 1)) == {"api_key", "exp", "timestamp"}
    for token, ttl in ((theirs, jwt_token.API_TOKEN_TTL_SECONDS), (ours, TOKEN_TTL)):
        claims = part(token, 1)
        assert claims["exp"] - claims["timestamp"] == int(ttl * 1000)  # both in milliseconds
