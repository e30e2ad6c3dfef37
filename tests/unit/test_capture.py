"""Prompt capture: off by default; when on, served chats land as JSONL that compare can replay."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from banjia.capture import PromptCapture
from banjia.migrate._compare_prompts import load_capture
from tests.conftest import gateway_config, strict_client
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import Gateway


def test_capture_is_off_by_default(fake: FakeOpenAI, tmp_path: Path) -> None:
    g = Gateway(gateway_config(fake, tmp_path))
    try:
        assert g.runtime.gateway.capture is None
    finally:
        g.stop()


def test_served_chats_are_captured_and_replayable(fake: FakeOpenAI, tmp_path: Path) -> None:
    folder = tmp_path / "cap"
    g = Gateway(gateway_config(fake, tmp_path, capture={"enabled": True, "dir": str(folder)}))
    try:
        c = strict_client(g)
        c.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "one two"}], temperature=0.3
        )
        list(
            c.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "three"}], stream=True
            )
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and sum(1 for f in folder.glob("*.jsonl") for _ in f.open()) < 2:
            time.sleep(0.05)
    finally:
        g.stop()
    lines = [json.loads(x) for f in folder.glob("capture-*.jsonl") for x in f.read_text().splitlines()]
    assert [ln["response"] for ln in lines] == ["echo: one two", "echo: three"]
    assert lines[0]["params"] == {"temperature": 0.3} and lines[0]["upstream"] == "fake/echo"
    assert lines[0]["id"].startswith("req_") and lines[0]["model"] == "gpt-4o"
    prompts = load_capture(folder)
    assert [p.messages[0]["content"] for p in prompts] == ["one two", "three"]


def test_files_past_the_retention_are_deleted(tmp_path: Path) -> None:
    cap = PromptCapture(tmp_path, retention_days=7)
    now = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    old, recent = tmp_path / "capture-2026-11-01.jsonl", tmp_path / "capture-2026-11-20.jsonl"
    old.write_text("{}\n")
    recent.write_text("{}\n")
    assert cap.prune(now) == [old]
    assert recent.exists() and not old.exists()


@pytest.mark.parametrize("days", [0, -1])
def test_retention_must_be_positive(days: float) -> None:
    from banjia.config import parse_config
    from banjia.errors import ConfigError

    with pytest.raises(ConfigError, match=r"capture\.retention_days"):
        parse_config({"capture": {"retention_days": days}})
