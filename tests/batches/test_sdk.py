"""The official openai SDK (strict validation) through banjia's Files and Batches API to the
vendors' batch APIs: the whole life of a batch, what each vendor is sent, and every refusal in
OpenAI's envelope with the right status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest

from tests.batches.conftest import (
    Fakes,
    chat_line,
    create_key,
    jsonl,
    read_rows,
    run_batch,
    sdk,
    until_done,
    words,
)
from tests.harness import MASTER_KEY, Gateway


def lines_of(data: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in data.splitlines() if x.strip()]


def test_a_batch_runs_end_to_end_on_the_first_entry_that_runs_batches(
        gw: Gateway, fakes: Fakes, gw_dir: Path) -> None:
    client = sdk(gw)
    lines = [chat_line(f"r{i}", "gpt-4o", words(3 + i)) for i in range(3)]
    lines.append({"custom_id": "bad", "method": "POST", "url": "/v1/chat/completions",
                  "body": {"model": "gpt-4o"}})  # no messages: the vendor's error file
    f = client.files.create(file=("requests.jsonl", jsonl(lines)), purpose="batch")
    assert (f.object, f.purpose, f.filename, f.bytes) == ("file", "batch", "requests.jsonl",
                                                          len(jsonl(lines)))
    assert f.id.startswith("file-") and client.files.retrieve(f.id).id == f.id
    assert client.files.content(f.id).content == jsonl(lines)
    b = client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                              completion_window="24h", metadata={"job": "nightly"})
    assert b.id.startswith("batch_") and b.input_file_id == f.id and b.metadata == {"job": "nightly"}
    assert b.status == "validating" and b.output_file_id is None

    # DashScope got the file with the upstream model in every line, and banjia's metadata
    sent = next(r for r in reversed(fakes.qwen.state.requests) if r.path.endswith("/batches"))
    upstream_file = fakes.qwen.state.content[sent.body["input_file_id"]]
    assert {x["body"]["model"] for x in lines_of(upstream_file)} == {"qwen-plus"}
    assert [x["custom_id"] for x in lines_of(upstream_file)] == ["r0", "r1", "r2", "bad"]
    assert sent.body["endpoint"] == "/v1/chat/completions" and sent.body["metadata"] == {"job": "nightly"}

    done = until_done(client, b.id)
    assert done.status == "completed" and done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed,
            done.request_counts.failed) == (4, 3, 1)
    assert done.output_file_id and done.error_file_id and done.output_file_id != done.error_file_id
    out = lines_of(client.files.content(done.output_file_id).content)
    assert sorted(x["custom_id"] for x in out) == ["r0", "r1", "r2"]
    # the answer names the model the client sent, not the upstream's
    assert {x["response"]["body"]["model"] for x in out} == {"gpt-4o"}
    r1 = next(x for x in out if x["custom_id"] == "r1")["response"]["body"]
    assert r1["choices"][0]["message"]["content"] == "echo: " + words(4)
    errors = lines_of(client.files.content(done.error_file_id).content)
    assert [x["custom_id"] for x in errors] == ["bad"] and errors[0]["error"]["code"]
    assert client.files.retrieve(done.output_file_id).purpose == "batch_output"
    # settled once: retrieving again asks nothing more of the upstream's files
    polled = sum(fakes.qwen.state.downloads.values())
    assert client.batches.retrieve(b.id).status == "completed"
    assert sum(fakes.qwen.state.downloads.values()) == polled

    # one ledger row per answered line, flagged batch; the calls themselves cost nothing
    rows = read_rows(f"sqlite:///{gw_dir / 'banjia.db'}", b.id)
    assert [r["request_id"] for r in rows] == [f"{b.id}-1", f"{b.id}-2", f"{b.id}-3"]
    assert all(r["batch"] and r["provider"] == "qwen" and r["upstream_model"] == "qwen-plus"
               and r["model"] == "gpt-4o" and r["endpoint"] == "chat" for r in rows)
    assert [(r["prompt_tokens"], r["completion_tokens"]) for r in rows] == [(3, 4), (4, 5), (5, 6)]


def test_the_calls_themselves_get_free_ledger_rows(gw: Gateway) -> None:
    client = sdk(gw)
    done = run_batch(client, [chat_line("a", "gpt-4o", "hello there")])
    rows = httpx.get(gw.root + "/admin/requests?limit=50", timeout=30,
                     headers={"Authorization": f"Bearer {MASTER_KEY}"}).json()["rows"]
    mine = [r for r in rows if r["endpoint"] in ("files", "batches")]
    assert {r["endpoint"] for r in mine} == {"files", "batches"}
    assert all(r["cost_cny"] == 0 for r in mine)
    assert done.status == "completed"


def test_list_pages_newest_first_and_cancel(gw: Gateway) -> None:
    key = create_key(gw)  # a key of its own: its list holds only these
    client = sdk(gw, key)
    f = client.files.create(file=("in.jsonl", jsonl([chat_line("a", "gpt-4o", "hi")])), purpose="batch")
    made = [client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                                  completion_window="24h").id for _ in range(3)]
    first = client.batches.list(limit=2)
    assert [b.id for b in first.data] == made[::-1][:2] and first.has_more
    assert [b.id for b in client.batches.list(limit=2, after=first.data[-1].id).data] == made[:1]
    assert [b.id for b in client.batches.list()] == made[::-1]  # the SDK pages through them all

    # listing asked the upstream for each: the fake completes a batch on its second poll
    assert client.batches.retrieve(made[0]).status == "completed"
    with pytest.raises(openai.BadRequestError, match="Cannot cancel a batch with status 'completed'"):
        client.batches.cancel(made[0])
    fresh = client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")
    assert client.batches.cancel(fresh.id).status == "cancelling"
    gone = until_done(client, fresh.id)
    assert gone.status == "cancelled" and gone.cancelled_at and gone.output_file_id is None


def test_embeddings_batch(gw: Gateway, gw_dir: Path) -> None:
    client = sdk(gw)
    lines = [{"custom_id": "e1", "method": "POST", "url": "/v1/embeddings",
              "body": {"model": "text-embedding-3-small", "input": ["a b", "c"]}}]
    done = run_batch(client, lines, endpoint="/v1/embeddings")
    assert done.status == "completed"
    out = lines_of(client.files.content(done.output_file_id).content)
    assert out[0]["response"]["body"]["model"] == "text-embedding-3-small"
    [row] = read_rows(f"sqlite:///{gw_dir / 'banjia.db'}", done.id)
    assert (row["endpoint"], row["prompt_tokens"], row["upstream_model"]) == (
        "embeddings", 3, "text-embedding-v4")


@pytest.mark.parametrize(("model", "fake_of", "path"), [
    ("glm/glm-4-plus", "glm", "/v4/chat/completions"),  # Zhipu: /v4 in the batch and each line
    ("sf/deepseek-ai/DeepSeek-V3", "sf", "/v1/chat/completions"),  # SiliconFlow: wrapped file
    ("vllm/llama", "vllm", "/v1/chat/completions"),  # any OpenAI-compatible server
])
def test_each_vendor_gets_its_own_dialect(gw: Gateway, fakes: Fakes, model: str, fake_of: str,
                                          path: str) -> None:
    fake = getattr(fakes, fake_of)
    done = run_batch(sdk(gw), [chat_line("x", model, "one two")])
    assert done.status == "completed"
    sent = next(r for r in reversed(fake.state.requests) if r.path.endswith("/batches"))
    assert sent.body["endpoint"] == path
    [line] = lines_of(fake.state.content[sent.body["input_file_id"]])
    assert line["url"] == path and line["body"]["model"] == model.split("/", 1)[1]
    [out] = lines_of(sdk(gw).files.content(done.output_file_id).content)
    assert out["response"]["body"]["model"] == model


# -- ownership -----------------------------------------------------------------------------------


def test_another_key_sees_none_of_it(gw: Gateway) -> None:
    mine, theirs = sdk(gw, create_key(gw)), sdk(gw, create_key(gw))
    f = mine.files.create(file=("in.jsonl", jsonl([chat_line("a", "gpt-4o", "hi")])), purpose="batch")
    b = mine.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
    for call in (lambda: theirs.files.retrieve(f.id), lambda: theirs.files.content(f.id),
                 lambda: theirs.files.delete(f.id), lambda: theirs.batches.retrieve(b.id),
                 lambda: theirs.batches.cancel(b.id),
                 lambda: theirs.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                                               completion_window="24h")):
        with pytest.raises(openai.NotFoundError):
            call()
    assert [x.id for x in theirs.batches.list()] == []
    assert mine.batches.retrieve(b.id).id == b.id
    deleted = mine.files.delete(f.id)
    assert deleted.deleted and deleted.id == f.id
    with pytest.raises(openai.NotFoundError):
        mine.files.retrieve(f.id)


def test_unauthenticated_calls_are_401(gw: Gateway) -> None:
    r = httpx.get(gw.base_url + "/batches", timeout=30)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


# -- refusals ------------------------------------------------------------------------------------


def create_with(g: Gateway, lines: list[dict[str, Any]] | bytes, key: str = MASTER_KEY,
                endpoint: str = "/v1/chat/completions") -> httpx.Response:
    data = lines if isinstance(lines, bytes) else jsonl(lines)
    f = sdk(g, key).files.create(file=("in.jsonl", data), purpose="batch")
    return httpx.post(g.base_url + "/batches", timeout=30, headers={"Authorization": f"Bearer {key}"},
                      json={"input_file_id": f.id, "endpoint": endpoint, "completion_window": "24h"})


def refused(r: httpx.Response, status: int, *needles: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err: dict[str, Any] = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    for n in needles:
        assert n in err["message"], err["message"]
    return err


def test_a_model_without_a_batch_provider_is_400_and_says_why(gw: Gateway, fakes: Fakes) -> None:
    before = len(fakes.qwen.state.requests)
    err = refused(create_with(gw, [chat_line("a", "gpt-4o", "hi"),
                                   chat_line("b", "realtime-only", "hi")]),
                  400, "Line 2", "realtime-only", "ds/deepseek-chat", "dashscope")
    assert err["code"] == "model_not_batchable" and err["param"] == "input_file_id"
    assert len(fakes.qwen.state.requests) == before  # nothing was uploaded anywhere


def test_one_provider_per_batch(gw: Gateway) -> None:
    err = refused(create_with(gw, [chat_line("a", "gpt-4o", "hi"), chat_line("b", "glm/glm-4", "hi")]),
                  400, "one provider", "'qwen'", "'glm'", "line 2")
    assert err["code"] == "mixed_providers"


@pytest.mark.parametrize(("lines", "needle"), [
    ([{**chat_line("a", "gpt-4o", "hi"), "url": "/v1/embeddings"}], "'url'"),
    ([chat_line("a", "gpt-4o", "hi"), chat_line("a", "gpt-4o", "ho")], "repeats line 1"),
    ([{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}], "body.model"),
    ([{"method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o"}}], "custom_id"),
    ([{**chat_line("a", "gpt-4o", "hi"), "method": "GET"}], "'method'"),
    ([chat_line("a", "no-such-model", "hi")], "no-such-model"),
])
def test_bad_lines_are_400_naming_the_line(gw: Gateway, lines: list[dict[str, Any]], needle: str) -> None:
    refused(create_with(gw, lines), 400, f"Line {len(lines)}", needle)


def test_the_key_allowlist_applies_to_each_line(gw: Gateway) -> None:
    key = create_key(gw, models=["gpt-4o"])
    err = refused(create_with(gw, [chat_line("a", "gpt-4o", "hi"), chat_line("b", "glm/glm-4", "x")],
                              key), 403, "Line 2", "glm/glm-4")
    assert err["code"] == "model_not_allowed"


@pytest.mark.parametrize(("body", "param"), [
    ({"endpoint": "/v1/responses", "completion_window": "24h"}, "endpoint"),
    ({"endpoint": "/v1/chat/completions", "completion_window": "48h"}, "completion_window"),
    ({"endpoint": "/v1/chat/completions", "completion_window": "24h", "metadata": {"k": 1}}, "metadata"),
])
def test_bad_batch_parameters_are_400(gw: Gateway, body: dict[str, Any], param: str) -> None:
    f = sdk(gw).files.create(file=("in.jsonl", jsonl([chat_line("a", "gpt-4o", "hi")])), purpose="batch")
    r = httpx.post(gw.base_url + "/batches", json={"input_file_id": f.id, **body}, timeout=30,
                   headers={"Authorization": f"Bearer {MASTER_KEY}"})
    assert refused(r, 400)["param"] == param


def test_bad_bodies_and_unknown_ids(gw: Gateway) -> None:
    auth = {"Authorization": f"Bearer {MASTER_KEY}"}
    refused(httpx.post(gw.base_url + "/batches", content=b"{", headers=auth, timeout=30), 400)
    refused(httpx.post(gw.base_url + "/batches", json={"endpoint": "/v1/chat/completions"},
                       headers=auth, timeout=30), 400, "input_file_id")
    refused(httpx.post(gw.base_url + "/batches", headers=auth, timeout=30,
                       json={"input_file_id": "file-nope", "endpoint": "/v1/chat/completions",
                             "completion_window": "24h"}), 404, "file-nope")
    refused(httpx.get(gw.base_url + "/batches/batch_nope", headers=auth, timeout=30), 404)
    refused(httpx.get(gw.base_url + "/files/file-nope/content", headers=auth, timeout=30), 404)
    refused(httpx.get(gw.base_url + "/batches?limit=0", headers=auth, timeout=30), 400, "limit")
    refused(httpx.get(gw.base_url + "/batches?after=batch_nope", headers=auth, timeout=30), 404)
    refused(httpx.get(gw.base_url + "/files/file-%00x", headers=auth, timeout=30), 404)
    refused(httpx.get(gw.base_url + "/batches/" + "b" * 300, headers=auth, timeout=30), 404)
    f = sdk(gw).files.create(file=("in.jsonl", jsonl([chat_line("a", "gpt-4o", "hi")])), purpose="batch")
    refused(httpx.post(gw.base_url + "/batches", headers=auth, timeout=30,
                       json={"input_file_id": f.id, "endpoint": ["/v1/embeddings"],
                             "completion_window": "24h"}), 400, "endpoint")


def test_an_exhausted_key_starts_no_batch_and_batch_lines_count_against_its_quota(
        gw: Gateway) -> None:
    client = sdk(gw, create_key(gw, quota_tokens=30))
    done = run_batch(client, [chat_line(f"q{i}", "gpt-4o", words(10)) for i in range(2)])
    assert done.status == "completed"  # 2 x (10 + 11) tokens: more than the quota, billed all the same
    f = client.files.create(file=("in.jsonl", jsonl([chat_line("a", "gpt-4o", "hi")])), purpose="batch")
    with pytest.raises(openai.RateLimitError) as e:
        client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert e.value.code == "insufficient_quota"


@pytest.mark.parametrize(("data", "needle"), [
    (b'{"custom_id": "a"}\nnot json\n', "Line 2"),
    (b"[1, 2]\n", "Line 1"),
    (b"\n\n", "no requests"),
    (b"\xff\xfe", "UTF-8"),
])
def test_uploads_that_are_not_jsonl_are_400(gw: Gateway, data: bytes, needle: str) -> None:
    with pytest.raises(openai.BadRequestError, match=needle):
        sdk(gw).files.create(file=("in.jsonl", data), purpose="batch")


def test_upload_checks(gw: Gateway) -> None:
    auth = {"Authorization": f"Bearer {MASTER_KEY}"}
    data = jsonl([chat_line("a", "gpt-4o", "hi")])
    r = httpx.post(gw.base_url + "/files", headers=auth, timeout=30, data={"purpose": "fine-tune"},
                   files={"file": ("in.jsonl", data)})
    assert refused(r, 400, "purpose")["param"] == "purpose"
    r = httpx.post(gw.base_url + "/files", headers=auth, timeout=30, data={"purpose": "batch"})
    refused(r, 400)
    refused(httpx.post(gw.base_url + "/files", headers=auth, json={"purpose": "batch"}, timeout=30),
            400, "multipart/form-data")


def test_a_file_over_the_upload_limit_is_413_naming_it(gw: Gateway) -> None:
    big = jsonl([chat_line(f"r{i}", "gpt-4o", words(50)) for i in range(200)])  # > 0.05 MB
    with pytest.raises(openai.APIStatusError) as e:
        sdk(gw).files.create(file=("big.jsonl", big), purpose="batch")
    assert e.value.status_code == 413
    assert "server.max_upload_mb" in e.value.message and str(int(0.05 * 1024 * 1024)) in e.value.message


def test_files_list_newest_first_pages_and_stays_per_key(gw: Gateway) -> None:
    """``client.files.list()``: the key's files only, newest first (or ``order=asc``), paged by
    ``limit`` and ``after``; a purpose banjia does not keep lists nothing."""
    mine, theirs = sdk(gw, create_key(gw)), sdk(gw, create_key(gw))
    made = [mine.files.create(file=(f"in{i}.jsonl", jsonl([chat_line("a", "gpt-4o", "hi")])),
                              purpose="batch").id for i in range(3)]
    listed = [f.id for f in mine.files.list()]
    assert sorted(listed) == sorted(made) and [f.id for f in theirs.files.list()] == []
    first = mine.files.list(limit=2)
    assert len(first.data) == 2 and first.has_more
    rest = mine.files.list(limit=2, after=first.data[-1].id)
    assert [f.id for f in first.data + rest.data] == listed and not rest.has_more
    assert [f.id for f in mine.files.list(order="asc")] == listed[::-1]
    assert [f.id for f in mine.files.list(purpose="assistants")] == []
    with pytest.raises(openai.NotFoundError):
        mine.files.list(after="file-nope")
    with pytest.raises(openai.BadRequestError):
        mine.files.list(order="sideways")  # type: ignore[arg-type]
