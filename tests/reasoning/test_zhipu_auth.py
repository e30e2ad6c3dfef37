"""GLM thinking through the ``zhipu`` type in both auth modes, against the Zhipu fake's ``glm-5``
mode: ``auth: jwt`` (a signed token, the subclassed adaptor) must replay reasoning and map the
thinking switch exactly as ``auth: bearer`` does.

``clear_thinking`` (Preserved Thinking) is not sent by banjia: within a tool loop GLM uses the
reasoning sent back without it; the flag only keeps earlier user turns' reasoning in context
(https://docs.bigmodel.cn/cn/guide/capabilities/thinking-mode), which is the client's choice (and
cost). A client's own flag passes through.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.fakes.zhipu_fake import API_KEY, FakeZhipu
from tests.harness import MASTER_KEY, AioServer, Gateway
from tests.reasoning.conftest import banjia_client, sdk_loop

AUTH = ["jwt", "bearer"]


@pytest.fixture(scope="module")
def zhipu() -> Iterator[FakeZhipu]:
    f = FakeZhipu()
    server = AioServer(f.app, "zhipu-fake")
    f.url = server.url  # type: ignore[attr-defined]
    yield f
    server.stop()


def zhipu_config(fake: FakeZhipu, tmp: Path, **store: Any) -> dict[str, Any]:
    base = fake.url + "/api/paas/v4"  # type: ignore[attr-defined]
    return {
        "server": {"master_key": MASTER_KEY},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}", **store},
        "providers": {a: {"type": "zhipu", "base_url": base, "api_key": API_KEY, "auth": a} for a in AUTH},
        "models": {f"glm-{a}": [f"{a}/glm-5"] for a in AUTH},
        "routing": {"retries": 0},
    }


@pytest.fixture(scope="module")
def gw(zhipu: FakeZhipu, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    g = Gateway(zhipu_config(zhipu, tmp_path_factory.mktemp("zhipu-auth")))
    yield g
    g.stop()


def direct(fake: FakeZhipu) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.url + "/api/paas/v4", api_key=API_KEY, max_retries=0)  # type: ignore[attr-defined]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_loop_without_reasoning_fails_straight_at_glm(zhipu: FakeZhipu, stream: bool) -> None:
    with pytest.raises(openai.BadRequestError, match="reasoning_content"):
        sdk_loop(direct(zhipu), "glm-5", stream=stream)


@pytest.mark.parametrize("auth", AUTH)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_the_same_loop_passes_through_banjia_in_both_auth_modes(
    gw: Gateway, zhipu: FakeZhipu, auth: str, stream: bool
) -> None:
    assert sdk_loop(banjia_client(gw), f"glm-{auth}", stream=stream).startswith("sunny")
    seen = zhipu.last
    assert (seen.claims is not None) == (auth == "jwt")  # a signed token, or the key itself
    assert "thinking" not in seen.body  # replayed, thinking stayed on
    assert all(m.get("reasoning_content") for m in seen.body["messages"] if m.get("tool_calls"))


@pytest.mark.parametrize("auth", AUTH)
@pytest.mark.parametrize(
    ("effort", "kind"), [("none", "disabled"), ("minimal", "disabled"), ("high", "enabled")]
)
def test_reasoning_effort_becomes_glms_thinking_switch(
    gw: Gateway, zhipu: FakeZhipu, auth: str, effort: str, kind: str
) -> None:
    r = banjia_client(gw).chat.completions.create(
        model=f"glm-{auth}", messages=[{"role": "user", "content": "hi"}], reasoning_effort=effort  # type: ignore[arg-type]
    )
    assert zhipu.last.body["thinking"] == {"type": kind} and "reasoning_effort" not in zhipu.last.body
    assert bool(getattr(r.choices[0].message, "reasoning_content", None)) == (kind == "enabled")
    assert r.usage is not None and r.usage.completion_tokens_details is not None
    assert r.usage.completion_tokens_details.reasoning_tokens == (5 if kind == "enabled" else 0)


def test_a_clients_own_thinking_object_passes_through(gw: Gateway, zhipu: FakeZhipu) -> None:
    own = {"type": "enabled", "clear_thinking": False}
    banjia_client(gw).chat.completions.create(
        model="glm-jwt", messages=[{"role": "user", "content": "hi"}], reasoning_effort="low",
        extra_body={"thinking": own},
    )
    assert zhipu.last.body["thinking"] == own


@pytest.mark.parametrize("auth", AUTH)
def test_an_expired_entry_turns_thinking_off_for_that_turn(
    zhipu: FakeZhipu, tmp_path: Path, auth: str
) -> None:
    g = Gateway(zhipu_config(zhipu, tmp_path, reasoning_ttl=0.001))
    try:
        assert sdk_loop(banjia_client(g), f"glm-{auth}", stream=True).startswith("sunny")
        assert zhipu.last.body["thinking"] == {"type": "disabled"}
    finally:
        g.stop()
