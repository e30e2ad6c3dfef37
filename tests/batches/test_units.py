"""The pieces without a server: reading the file, the vendors' batch objects in OpenAI's words."""

from __future__ import annotations

import orjson
import pytest

from banjia.batches import check_lines, check_metadata, read_jsonl, snapshot
from banjia.errors import APIError


def test_a_line_may_hold_the_characters_splitlines_would_split_on() -> None:
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "m", "messages": [{"role": "user", "content": "x\u2028y\x85z"}]}}
    data = b"\xef\xbb\xbf" + orjson.dumps(line) + b"\r\n\n"  # a BOM, CRLF and a blank line
    [(n, item)] = read_jsonl(data)
    assert n == 1 and item == line
    [checked] = check_lines([(n, item)], "/v1/chat/completions")
    assert (checked.custom_id, checked.model) == ("a", "m")


def test_control_characters_in_a_model_name_are_refused() -> None:
    item = {"custom_id": "a", "url": "/v1/embeddings", "body": {"model": "m\x00", "input": "x"}}
    with pytest.raises(APIError, match="Line 3"):
        check_lines([(3, item)], "/v1/embeddings")


@pytest.mark.parametrize("raw", [{"k": 1}, {"k" * 65: "v"}, {str(i): "v" for i in range(17)}, ["x"]])
def test_metadata_is_sixteen_string_pairs_at_most(raw: object) -> None:
    with pytest.raises(APIError) as e:
        check_metadata(raw)
    assert e.value.param == "metadata"
    assert check_metadata({"a": "b"}) == {"a": "b"} and check_metadata(None) is None


def test_vendor_batch_objects_in_openais_words() -> None:
    # SiliconFlow queues; Zhipu documents the counts at the top level; some count milliseconds
    assert snapshot({"id": "b", "status": "in_queue", "request_counts": None})["status"] == "validating"
    zhipu = snapshot({"id": "b", "status": "completed", "total": 3, "completed": 2, "failed": 1,
                      "completed_at": 1_765_000_000_123, "output_file_id": "f1"})
    assert zhipu["request_counts"] == {"total": 3, "completed": 2, "failed": 1}
    assert zhipu["completed_at"] == 1_765_000_000 and zhipu["output_file_id"] == "f1"
    failed = snapshot({"status": "FAILED", "errors": {"object": "list", "data": [
        {"code": "invalid_url", "line": 2, "message": "bad\x00url", "param": "url"}]}})
    assert failed["status"] == "failed"
    assert failed["errors"] == [{"code": "invalid_url", "line": 2, "message": "bad\ufffdurl", "param": "url"}]
    assert snapshot({"status": "who-knows"})["status"] == "in_progress"
    assert "request_counts" not in snapshot({"status": "running", "request_counts": {"total": "3"}})
