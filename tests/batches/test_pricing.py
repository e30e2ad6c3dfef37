"""A batch's lines are billed at the vendor's batch price: each ledger row equals ``banjia cost
--batch`` for the same tokens, and the CNY worked out here from the configured price.

The config prices qwen/qwen-plus at CNY 2 per million input tokens and 8 per million output, with
a batch multiplier of 0.5; the fake counts words (a prompt of n words: n prompt tokens, and the
answer "echo:" plus those words: n + 1 completion tokens).
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml

from banjia.cli import main
from tests.batches.conftest import (
    BATCH,
    INPUT,
    OUTPUT,
    Fakes,
    batch_config,
    chat_line,
    read_rows,
    run_batch,
    sdk,
    words,
)
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import Gateway


def cost(path: Path, row: dict[str, Any], *extra: str) -> dict[str, Any]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["cost", "--config", str(path), "--model", f"{row['provider']}/{row['upstream_model']}",
                     "--prompt", str(row["prompt_tokens"]), "--completion", str(row["completion_tokens"]),
                     "--cached", str(row["cached_tokens"]), "--at", row["created_at"].isoformat(),
                     "--openai-model", row["model"], "--format", "json", *extra])
    assert code == 0
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def test_batch_lines_cost_the_batch_price(gw: Gateway, gw_dir: Path, fakes: Fakes, fake: FakeOpenAI,
                                          tmp_path: Path) -> None:
    sizes = (5, 12, 40)
    done = run_batch(sdk(gw), [chat_line(f"p{i}", "gpt-4o", words(n)) for i, n in enumerate(sizes)])
    rows = read_rows(f"sqlite:///{gw_dir / 'banjia.db'}", done.id)
    assert len(rows) == len(sizes)
    path = tmp_path / "banjia.yaml"
    path.write_text(yaml.safe_dump(batch_config(fakes, fake, {"url": f"sqlite:///{tmp_path / 'x.db'}"})),
                    encoding="utf-8")
    for row, n in zip(rows, sizes, strict=True):
        assert row["batch"] and (row["prompt_tokens"], row["completion_tokens"]) == (n, n + 1)
        # worked out by hand: n x 2 + (n + 1) x 8 per million, at half price
        expected = (n * INPUT + (n + 1) * OUTPUT) / 1e6 * BATCH
        assert row["cost_nano_cny"] == round(expected * 1e9)
        by_cli = cost(path, row, "--batch")
        assert by_cli["cost_cny"] == pytest.approx(expected, abs=1e-9)
        assert by_cli["cost_cny"] == pytest.approx(row["cost_nano_cny"] / 1e9, abs=1e-9)
        assert "batch x 0.5" in by_cli["rule"]
        # and the same tokens in real time cost twice as much
        assert cost(path, row)["cost_cny"] == pytest.approx(expected / BATCH, abs=1e-9)
        # OpenAI's price for the model the client named, as `banjia cost` says it
        assert row["openai_cost_nano_cny"] == round(by_cli["openai_cost_cny"] * 1e9)
