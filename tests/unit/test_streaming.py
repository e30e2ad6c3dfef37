"""The stream normaliser: what every client receives, whatever the upstream sent."""

from __future__ import annotations

from typing import Any

import pytest

from banjia.errors import UpstreamError
from banjia.streaming import ChatStreamNormalizer


def norm(include_usage: bool = False) -> ChatStreamNormalizer:
    return ChatStreamNormalizer(id="chatcmpl-x", model="m", include_usage=include_usage, provider="p")


def frag(delta: dict[str, Any], finish: str | None = None, index: int = 0, **extra: Any) -> dict[str, Any]:
    return {"choices": [{"index": index, "delta": delta, "finish_reason": finish}], **extra}


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks if c["choices"]]


def test_role_delta_comes_first_even_if_the_upstream_omits_it() -> None:
    out = norm().feed(frag({"content": "hi"}))
    assert deltas(out) == [{"role": "assistant", "content": ""}, {"content": "hi"}]


def test_finish_reason_gets_its_own_empty_delta() -> None:
    n = norm()
    n.feed(frag({"role": "assistant", "content": ""}))
    out = n.feed(frag({"content": "end"}, "stop"))
    assert deltas(out) == [{"content": "end"}, {}]
    assert out[-1]["choices"][0]["finish_reason"] == "stop"


def test_id_and_created_are_stable() -> None:
    n = norm()
    a = n.feed(frag({"content": "a"}, id="up-1"))
    b = n.feed(frag({"content": "b"}, id="up-2"))
    assert {c["id"] for c in a + b} == {"chatcmpl-x"}
    assert len({c["created"] for c in a + b}) == 1


def test_usage_is_the_last_report_not_a_sum() -> None:
    n = norm(include_usage=True)
    n.feed(frag({"content": "a"}, usage={"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}))
    n.feed(
        frag({"content": "b"}, "stop", usage={"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7})
    )
    tail = n.finish(done_seen=True)
    assert tail[-1]["choices"] == [] and tail[-1]["usage"]["total_tokens"] == 7


def test_no_usage_chunk_unless_asked() -> None:
    n = norm()
    n.feed(
        frag({"content": "a"}, "stop", usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})
    )
    assert n.finish(done_seen=True) == []
    assert n.usage is not None


def test_repeated_tool_ids_become_one_call_with_stable_index() -> None:
    n = norm()
    out: list[dict[str, Any]] = []
    for piece in ['{"a"', ": 1}"]:
        out += n.feed(
            frag(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": piece},
                        }
                    ]
                }
            )
        )
    out += n.feed(frag({}, "stop"))
    calls = [tc for d in deltas(out) for tc in d.get("tool_calls", [])]
    assert calls[0] == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "f", "arguments": '{"a"'},
    }
    assert calls[1] == {"index": 0, "function": {"arguments": ": 1}"}}
    assert out[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_second_call_with_a_reused_index_gets_the_next_index() -> None:
    n = norm()
    out = n.feed(
        frag({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{}"}}]})
    )
    out += n.feed(
        frag({"tool_calls": [{"index": 0, "id": "b", "function": {"name": "g", "arguments": "{}"}}]})
    )
    starts = [tc for d in deltas(out) for tc in d.get("tool_calls", []) if "id" in tc]
    assert [(s["index"], s["id"]) for s in starts] == [(0, "a"), (1, "b")]


def test_calls_without_ids_get_generated_ones() -> None:
    n = norm()
    out = n.feed(frag({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": ""}}]}))
    out += n.feed(frag({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}))
    calls = [tc for d in deltas(out) for tc in d.get("tool_calls", [])]
    assert calls[0]["id"].startswith("call_") and calls[1] == {"index": 0, "function": {"arguments": "{}"}}


def test_stream_cut_before_finish_is_an_error() -> None:
    n = norm()
    n.feed(frag({"content": "partial"}))
    with pytest.raises(UpstreamError):
        n.finish(done_seen=False)


def test_done_without_finish_reason_closes_with_stop() -> None:
    n = norm()
    n.feed(frag({"content": "x"}))
    tail = n.finish(done_seen=True)
    assert tail[-1]["choices"][0]["finish_reason"] == "stop"


def test_reasoning_content_passes_through() -> None:
    out = norm().feed(frag({"content": None, "reasoning_content": "think"}))
    assert deltas(out)[-1] == {"reasoning_content": "think"}


def test_choices_are_kept_apart() -> None:
    n = norm()
    out = n.feed(frag({"content": "a"}, index=0)) + n.feed(frag({"content": "b"}, index=1))
    assert [(c["choices"][0]["index"], c["choices"][0]["delta"]) for c in out] == [
        (0, {"role": "assistant", "content": ""}),
        (0, {"content": "a"}),
        (1, {"role": "assistant", "content": ""}),
        (1, {"content": "b"}),
    ]
