"""Prompt capture: served chat requests written as JSONL for ``banjia compare --from-capture``.

Off by default (prompts are the app's users' data). When ``capture.enabled`` is set, each completed
chat request becomes one line in ``<dir>/capture-YYYY-MM-DD.jsonl`` in the capture format documented
in :mod:`banjia.migrate._compare_prompts`; files older than ``retention_days`` are deleted. Lines
are queued on the request path and written by a background task, so capture adds no disk I/O
to a request; the queue is bounded and drops (and counts) lines rather than grow without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from pathlib import Path

import orjson

from banjia.context import RequestContext
from banjia.protocol.chat import ChatRequest

__all__ = ["REPLAYED_PARAMS", "PromptCapture"]

log = logging.getLogger("banjia.capture")

# the request fields a replay keeps; the rest (stream, n, model, user…) is the replay's own business
REPLAYED_PARAMS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "response_format",
        "tools",
        "tool_choice",
        "reasoning_effort",
    }
)


class PromptCapture:
    def __init__(self, folder: str | Path, retention_days: float, *, max_queue: int = 10_000) -> None:
        self.folder = Path(folder)
        self.retention = dt.timedelta(days=retention_days)
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(max_queue)
        self._task: asyncio.Task[None] | None = None
        self._pruned: dt.date | None = None
        self.dropped = 0

    def add(self, ctx: RequestContext, req: ChatRequest, response: str) -> None:
        """Queue one served request (never blocks; drops the line when the writer is far behind)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._writer())
        wire = req.wire()
        line = {
            "id": "req_" + ctx.request_id,
            "captured_at": dt.datetime.fromtimestamp(ctx.started_at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "model": ctx.model,
            "upstream": ctx.upstream,
            "messages": wire.get("messages"),
            "params": {k: v for k, v in wire.items() if k in REPLAYED_PARAMS},
            "response": response,
        }
        try:
            self._queue.put_nowait(orjson.dumps(line) + b"\n")
        except asyncio.QueueFull:
            self.dropped += 1

    def _path(self, day: dt.date) -> Path:
        return self.folder / f"capture-{day.isoformat()}.jsonl"

    def prune(self, now: dt.datetime | None = None) -> list[Path]:
        """Delete capture files older than the retention; returns what was deleted."""
        cutoff = ((now or dt.datetime.now(dt.UTC)) - self.retention).date()
        gone = []
        for f in self.folder.glob("capture-*.jsonl"):
            try:
                day = dt.date.fromisoformat(f.stem.removeprefix("capture-"))
            except ValueError:
                continue
            if day < cutoff:
                f.unlink(missing_ok=True)
                gone.append(f)
        return gone

    async def _writer(self) -> None:
        await asyncio.to_thread(self.folder.mkdir, parents=True, exist_ok=True)
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < 500:
                batch.append(self._queue.get_nowait())
            await asyncio.to_thread(self._append, b"".join(batch))

    def _append(self, data: bytes) -> None:
        day = dt.datetime.now(dt.UTC).date()
        with self._path(day).open("ab") as f:
            f.write(data)
        if self._pruned != day:  # once a day is enough for a retention counted in days
            self._pruned = day
            self.prune()

    async def aclose(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        rest = []
        while not self._queue.empty():
            rest.append(self._queue.get_nowait())
        if rest:
            await asyncio.to_thread(self.folder.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(self._append, b"".join(rest))
        if self.dropped:
            log.warning('{"event": "capture_dropped", "lines": %d}', self.dropped)
