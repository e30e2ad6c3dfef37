"""A reservation bounds what an answer may cost: a request without an output limit is given one
(what the model may write, cut to what the key has left), requests with ``n`` reserve for every
answer, and a request's quota is back as soon as it ends — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from banjia.catalog import model_info, price_cny
from banjia.context import KeyInfo
from banjia.errors import APIError
from banjia.store import Store
from banjia.store.accounting import DEFAULT_OUTPUT_CAP, MAX_OUTPUT_TOKENS
from tests.store.conftest import ctx_for, finish


async def _key(store: Store, **quota: object) -> KeyInfo:
    _, plaintext = await store.keys.create(name="app", **quota)  # type: ignore[arg-type]
    info = await store.authenticator.authenticate(plaintext)
    assert info is not None
    return info


async def test_without_max_tokens_the_models_maximum_output_is_reserved_and_asked(
        store: Store) -> None:
    key = await _key(store, quota_tokens=100_000)
    ctx = ctx_for(key, prompt=10, max_out=None)
    ctx.provider_type, ctx.upstream_model = "dashscope", "qwen-coder-turbo"
    info = model_info("dashscope", "qwen-coder-turbo")
    assert info is not None and info.max_output
    await store.accounting.admit(ctx)
    held = await store.keys.get(key.id)
    assert held is not None and held.reserved_tokens == 10 + info.max_output
    assert ctx.output_cap == info.max_output


async def test_a_model_without_a_known_maximum_gets_the_default_cap(store: Store) -> None:
    key = await _key(store, quota_tokens=100_000)
    ctx = ctx_for(key, prompt=10, max_out=None)
    ctx.provider_type, ctx.upstream_model = "openai", "my-own-model"
    await store.accounting.admit(ctx)
    assert ctx.output_cap == DEFAULT_OUTPUT_CAP


async def test_without_max_tokens_the_cap_shrinks_to_what_is_left(store: Store) -> None:
    key = await _key(store, quota_tokens=500)
    ctx = ctx_for(key, prompt=10, max_out=None)
    await store.accounting.admit(ctx)
    assert ctx.output_cap == 490
    held = await store.keys.get(key.id)
    assert held is not None and held.remaining_tokens == 0
    with pytest.raises(APIError) as e:  # nothing left for another answer
        await store.accounting.admit(ctx_for(key, prompt=10, max_out=None))
    assert e.value.code == "insufficient_quota"


async def test_a_cny_quota_caps_the_output_at_what_it_pays_for(store: Store) -> None:
    key = await _key(store, quota_cny=0.005)
    ctx = ctx_for(key, prompt=1000, max_out=None)
    ctx.provider_type, ctx.upstream_model = "dashscope", "qwen-plus"
    await store.accounting.admit(ctx)
    cap = ctx.output_cap
    assert cap is not None and 0 < cap < DEFAULT_OUTPUT_CAP
    cost = price_cny("dashscope", "qwen-plus", 1000, cap)
    more = price_cny("dashscope", "qwen-plus", 1000, cap + 2)
    assert cost is not None and more is not None and cost <= 0.005 < more


async def test_a_limit_the_client_set_is_kept_not_capped(store: Store) -> None:
    key = await _key(store, quota_tokens=100_000)
    ctx = ctx_for(key, prompt=10, max_out=300)
    await store.accounting.admit(ctx)
    assert ctx.output_cap is None


async def test_each_of_n_answers_is_reserved(store: Store) -> None:
    key = await _key(store, quota_tokens=1000)
    ctx = ctx_for(key, prompt=10, max_out=100)
    ctx.choices = 3
    await store.accounting.admit(ctx)
    held = await store.keys.get(key.id)
    assert held is not None and held.reserved_tokens == 310
    capped = ctx_for(key, prompt=10, max_out=None)
    capped.choices = 2
    await store.accounting.admit(capped)
    assert capped.output_cap == (1000 - 310 - 10) // 2


async def test_a_huge_max_tokens_is_a_400_naming_it(store: Store) -> None:
    key = await _key(store, quota_tokens=1000)
    with pytest.raises(APIError) as e:
        await store.accounting.admit(ctx_for(key, prompt=10, max_out=2_200_000_000_000_000))
    assert (e.value.status, e.value.param) == (400, "max_tokens")
    assert str(MAX_OUTPUT_TOKENS) in e.value.message


async def test_a_large_max_tokens_within_bounds_is_a_quota_refusal(store: Store) -> None:
    key = await _key(store, quota_tokens=1000, quota_cny=1)
    with pytest.raises(APIError) as e:
        await store.accounting.admit(ctx_for(key, prompt=10, max_out=MAX_OUTPUT_TOKENS))
    assert (e.value.status, e.value.code) == (429, "insufficient_quota")


async def test_an_ended_request_gives_its_quota_back_to_the_next_at_once(store: Store) -> None:
    # the background writer is not waited for: admission itself sees that the key's last
    # request has ended and settles it before deciding
    key = await _key(store, quota_tokens=1000)
    for _ in range(20):
        ctx = ctx_for(key, prompt=10, max_out=590)
        await store.accounting.admit(ctx)
        store.accounting.record(finish(ctx, prompt=10, completion=5))
    await store.flush()
    after = await store.keys.get(key.id)
    assert after is not None and (after.used_tokens, after.reserved_tokens) == (300, 0)


async def test_a_cny_quota_is_reserved_at_the_configs_price_override(store: Store) -> None:
    """The ledger bills a provider's config ``pricing:`` override, so admission reserves at it: a
    provider whose output costs 100 times the catalog's leaves room for a hundredth of the output."""
    from banjia.pricing import Pricer, parse_overrides

    key = await _key(store, quota_cny=0.005)
    store.accounting.prices = Pricer(parse_overrides(
        {"qwen/qwen-plus": {"input": 0.8, "output": 200}}, None))  # CNY per million tokens
    ctx = ctx_for(key, prompt=1000, max_out=None)
    ctx.provider, ctx.provider_type, ctx.upstream_model = "qwen", "dashscope", "qwen-plus"
    await store.accounting.admit(ctx)
    # 0.005 - 1000 * 0.8e-6 = 0.0042 CNY left for output at 200e-6 a token: 21 tokens, where
    # the catalog's 2 per million would have allowed 2,100
    assert ctx.output_cap == 21
