"""Without the store layer (an authenticator and accounting of the embedder's own), batches are
kept in a database in memory and their lines still reach the accounting, flagged as batch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from banjia.context import NullAccounting
from banjia.server.auth import MasterKeyAuth
from tests.batches.conftest import Fakes, batch_config, chat_line, run_batch, sdk, words
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway


@pytest.fixture
def bare(fakes: Fakes, fake: FakeOpenAI, tmp_path: Path) -> Iterator[tuple[Gateway, NullAccounting]]:
    accounting = NullAccounting()
    g = Gateway(batch_config(fakes, fake, {"url": f"sqlite:///{tmp_path / 'unused.db'}"}),
                auth=MasterKeyAuth(MASTER_KEY), accounting=accounting)
    yield g, accounting
    g.stop()


def test_batches_run_on_a_database_in_memory(bare: tuple[Gateway, NullAccounting]) -> None:
    g, accounting = bare
    client = sdk(g)
    done = run_batch(client, [chat_line("a", "gpt-4o", words(4)), chat_line("b", "gpt-4o", words(2))])
    assert done.status == "completed" and client.files.content(done.output_file_id).content
    lines = [r for r in accounting.records if r.batch]
    assert sorted(r.request_id for r in lines) == [f"{done.id}-1", f"{done.id}-2"]
    assert {(r.provider, r.upstream_model, r.model) for r in lines} == {("qwen", "qwen-plus", "gpt-4o")}
    assert {r.endpoint for r in accounting.records if not r.batch} == {"files", "batches"}
    assert [b.id for b in client.batches.list()] == [done.id]
