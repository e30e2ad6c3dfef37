"""Two gateways sharing PostgreSQL: either answers for any batch, and a finished batch is settled
once — its output downloaded once and each answered line written to the ledger once — however
the two poll it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.batches.conftest import Fakes, batch_config, chat_line, jsonl, read_rows, sdk, words
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import Gateway
from tests.store.conftest import store_settings


@pytest.fixture
def replicas(fakes: Fakes, fake: FakeOpenAI, pg_url: str) -> Iterator[tuple[Gateway, Gateway]]:
    a = Gateway(batch_config(fakes, fake, store_settings(pg_url)))
    try:
        b = Gateway(batch_config(fakes, fake, store_settings(pg_url)))
    except BaseException:
        a.stop()
        raise
    yield a, b
    b.stop()
    a.stop()


def start(g: Gateway, n: int) -> Any:
    client = sdk(g)
    f = client.files.create(file=("in.jsonl", jsonl([chat_line(f"r{i}", "gpt-4o", words(i + 1))
                                                      for i in range(n)])), purpose="batch")
    return client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                                 completion_window="24h")


def test_a_replica_settling_a_batch_holds_the_other_off(
        replicas: tuple[Gateway, Gateway], fakes: Fakes, pg_url: str) -> None:
    a, b = replicas
    batch = start(a, 3)
    assert sdk(b).batches.retrieve(batch.id).status == "in_progress"  # B answers for A's batch
    downloads = sum(fakes.qwen.state.downloads.values())
    fakes.qwen.hold_content = True
    try:
        with ThreadPoolExecutor(1) as pool:
            settling = pool.submit(sdk(a).batches.retrieve, batch.id)  # completes, A claims it
            deadline = time.monotonic() + 10
            while sum(fakes.qwen.state.downloads.values()) == downloads:  # A is downloading
                assert time.monotonic() < deadline and not settling.done()
                time.sleep(0.01)
            # B sees the upstream batch completed too, but A holds the settlement
            meanwhile = sdk(b).batches.retrieve(batch.id)
            assert meanwhile.status == "finalizing" and meanwhile.output_file_id is None
            fakes.qwen.release()
            done = settling.result(30)
    finally:
        fakes.qwen.release()
    assert done.status == "completed"
    again = sdk(b).batches.retrieve(batch.id)
    assert (again.status, again.output_file_id) == ("completed", done.output_file_id)
    assert sdk(b).files.content(done.output_file_id).content == sdk(a).files.content(
        done.output_file_id).content
    assert sum(fakes.qwen.state.downloads.values()) == downloads + 1
    rows = read_rows(pg_url, batch.id)
    assert [r["request_id"] for r in rows] == [f"{batch.id}-{i}" for i in (1, 2, 3)]
    assert all(r["batch"] and r["cost_nano_cny"] for r in rows)


def test_two_replicas_polling_at_once_write_each_row_once(
        replicas: tuple[Gateway, Gateway], fakes: Fakes, pg_url: str) -> None:
    lines = 6
    batch = start(replicas[0], lines)
    downloads = sum(fakes.qwen.state.downloads.values())
    go = threading.Barrier(4)

    def poll(g: Gateway) -> set[str | None]:
        client, seen = sdk(g), set()
        go.wait(10)
        for _ in range(100):
            got = client.batches.retrieve(batch.id)
            if got.status == "completed":
                seen.add(got.output_file_id)
                return seen
        raise AssertionError("the batch did not complete")

    with ThreadPoolExecutor(4) as pool:
        outputs = set().union(*pool.map(poll, [*replicas, *replicas]))
    assert len(outputs) == 1 and None not in outputs  # one settlement, one output file
    assert sum(fakes.qwen.state.downloads.values()) == downloads + 1
    rows = read_rows(pg_url, batch.id)
    assert len(rows) == lines and len({r["request_id"] for r in rows}) == lines
    assert all(r["batch"] for r in rows)
