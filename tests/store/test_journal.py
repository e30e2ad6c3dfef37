"""A gateway process killed with SIGKILL loses no completed request: every answer a client
received in full is in the ledger once a process starts again on the same journal directory,
and the dead process's quota reservations are returned at that start — on SQLite and
PostgreSQL, with real processes."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from banjia.store import Store, open_store
from banjia.store.schema import keys, ledger
from tests.conftest import fake_provider
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY
from tests.store.conftest import config_for, ctx_for, finish
from tests.store.test_kill import Server, _load


async def _create_key(db_url: str) -> str:
    store = await open_store(config_for(db_url), background=False)
    try:
        _, plaintext = await store.keys.create(name="load", quota_tokens=10**9)
    finally:
        await store.aclose()
    return plaintext


async def _state(db_url: str) -> tuple[set[str], dict[str, Any]]:
    """The ledger's request ids and the (only) virtual key's counters."""
    store = await open_store(config_for(db_url), background=False)
    try:
        async with store.db.read() as conn:
            ids = set((await conn.execute(select(ledger.c.request_id))).scalars())
            key = (await conn.execute(select(keys).where(keys.c.name == "load"))).one()
            return ids, dict(key._mapping)
    finally:
        await store.aclose()


async def test_a_killed_process_loses_no_answered_request_and_no_quota(
        fake: FakeOpenAI, db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "banjia.yaml"
    config.write_text(yaml.safe_dump({
        "server": {"master_key": MASTER_KEY},
        "store": {"url": db_url, "journal_dir": str(tmp_path / "journal")},
        "providers": {"fake": fake_provider(fake)},
        "models": {"gpt-4o": ["fake/echo"]},
    }))
    log = tmp_path / "gateway.log"
    key = await _create_key(db_url)

    server = Server(config, log)
    seen = await _load(server.url, 150, kill=server, key=key)
    assert len(seen) >= 150
    _, before = await _state(db_url)
    assert before["reserved_tokens"] > 0  # requests were in flight when it was killed

    restarted = Server(config, log)  # ready only once the journal is recovered
    try:
        ids, after = await _state(db_url)
        missing = {s.removeprefix("req_") for s in seen} - ids
        assert not missing, f"{len(missing)} answered requests are not in the ledger"
        assert after["reserved_tokens"] == 0, "the killed process's quota is still held"
        assert after["used_tokens"] >= len(seen) * 11  # 5 prompt + 6 completion tokens each
    finally:
        restarted.stop(signal.SIGTERM)
    assert not list((tmp_path / "journal").glob("*.journal")), "a journal was left behind"
    assert "Traceback" not in log.read_text()


async def test_queued_rows_are_journaled_until_written(store: Store) -> None:
    writer = store.accounting.ledger
    assert writer.journal is not None
    path = writer.journal.path
    async with writer._lock:  # hold the background writer back
        for _ in range(3):
            store.accounting.record(finish(ctx_for(None)))
        assert len(path.read_bytes().splitlines()) == 3
    await store.flush()
    assert path.read_bytes() == b""
    await store.aclose()
    assert not path.exists()  # a graceful stop leaves no journal behind


async def test_a_journal_left_by_an_older_banjia_is_replayed(db_url: str, tmp_path: Path) -> None:
    """A process killed before an upgrade leaves rows without the columns added since (``batch``):
    the next start still writes them, with the value a row from before means."""
    import orjson

    from banjia.store.ledger import ledger_row

    journals = tmp_path / "journal"
    journals.mkdir()
    row = ledger_row(finish(ctx_for(None)))
    del row["batch"]
    row["created_at"] = row["created_at"].isoformat()
    (journals / "inst_dead.journal").write_bytes(
        orjson.dumps({"reserved": False, "row": row}) + b"\n")
    config = config_for(db_url)
    config.store.journal_dir = str(journals)
    store = await open_store(config)
    try:
        async with store.db.read() as conn:
            got = (await conn.execute(select(ledger.c.request_id, ledger.c.batch))).all()
        assert [(r.request_id, r.batch) for r in got] == [(row["request_id"], False)]
    finally:
        await store.aclose()
    assert not (journals / "inst_dead.journal").exists()
