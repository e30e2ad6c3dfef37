"""The ledger journal: each serving process appends every ledger row it queues to a local file
before the row waits for the background writer, so a process killed outright (``kill -9``, the
OOM killer) loses no completed request. The next process started on the same journal directory
writes a dead process's rows to the database (the ledger skips those already there: rows are keyed
by request id) and returns that process's quota reservations at once.

One file per process, ``<instance id>.journal``, held under an exclusive ``flock`` for the
process's life: a file whose lock can be taken belongs to a process that is gone, however it
ended. The file is emptied whenever the writer has written everything queued, so it holds only
rows not yet committed. Writes go to the kernel without ``fsync``: they survive the process, not a
power loss of the machine.

The directory is ``store.journal_dir`` when set, else ``.banjia/journal`` beside a SQLite file, or
``.banjia/journal/<hash of the database URL>`` under the working directory for PostgreSQL. On
several machines each keeps its own journal; the rows of a machine that is lost with its disk are
lost too (about the last 0.1 s of its requests).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.engine import make_url

__all__ = ["SUFFIX", "DeadJournal", "Journal", "journal_dir"]

log = logging.getLogger("banjia.store")

SUFFIX = ".journal"
# ledger columns added since journals were first written, with the value a row from before means:
# a process killed before an upgrade leaves rows without them
_ADDED: dict[str, Any] = {"batch": False}

try:
    import fcntl

    _POSIX = True
except ImportError:  # not POSIX: no journal (the loss window of a killed process is documented)
    _POSIX = False


def journal_dir(url: str, configured: str | None, state: Path | None) -> Path | None:
    """Where this database's journals live; None for an in-memory database."""
    if configured:
        return Path(configured)
    if state is not None:
        return state / "journal"
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return None  # in memory: nothing outlives the process anyway
    ident = parsed.render_as_string(hide_password=True).encode()
    return Path.cwd() / ".banjia" / "journal" / hashlib.sha256(ident).hexdigest()[:16]


def _lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class Journal:
    """This process's journal file (open, locked, append-only)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd
        self._dirty = False
        self._warned = 0.0
        self.failures = 0  # rows that could not be journaled (disk full, …)

    @classmethod
    def open(cls, directory: Path, instance_id: str) -> Journal | None:
        if not _POSIX:
            return None
        path = directory / f"{instance_id}{SUFFIX}"
        # locked under a name other processes do not look at, then renamed (the lock stays with
        # the file): a process starting at the same moment can never take it for a dead one's
        fresh = directory / f"{instance_id}.new"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as e:
            log.warning("no ledger journal (%s): a process killed outright loses the ledger rows "
                        "of its last ~0.1 s; set store.journal_dir to a writable directory", e)
            return None
        try:
            if not _lock(fd):  # instance ids are random: nobody else has this file
                raise OSError("the new journal file is locked by another process")
            os.rename(fresh, path)
        except OSError as e:
            os.close(fd)
            log.warning("no ledger journal (%s)", e)
            return None
        return cls(path, fd)

    def append(self, row: dict[str, Any], reserved: bool) -> None:
        try:
            line = orjson.dumps({"reserved": reserved, "row": row}) + b"\n"
            os.write(self._fd, line)
        except (OSError, TypeError) as e:  # TypeError: a value orjson cannot encode
            self.failures += 1
            now = time.monotonic()
            if now - self._warned > 60:
                self._warned = now
                log.warning("ledger journal write failed (%s); %d rows unjournaled so far",
                            type(e).__name__, self.failures)
            return
        self._dirty = True

    def truncate(self) -> None:
        """Everything journaled is in the database now."""
        if not self._dirty:
            return
        try:
            os.ftruncate(self._fd, 0)
        except OSError as e:
            log.warning("ledger journal could not be emptied: %s", e)
            return
        self._dirty = False

    def close(self, *, remove: bool) -> None:
        """Close (and delete, when every row it held is written) — which also releases the lock."""
        if self._fd < 0:
            return
        if remove:
            with contextlib.suppress(OSError):
                self.path.unlink()
        os.close(self._fd)
        self._fd = -1


class DeadJournal:
    """The journal of a process that is gone, locked by this process while it is replayed."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @property
    def instance_id(self) -> str:
        return self.path.name[: -len(SUFFIX)]

    @staticmethod
    def find(directory: Path, own: Path | None) -> Iterator[DeadJournal]:
        """The journals in ``directory`` whose process is gone (their lock could be taken)."""
        if not _POSIX or not directory.is_dir():
            return
        for path in sorted(directory.glob(f"*{SUFFIX}")):
            if own is not None and path == own:
                continue
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError:
                continue  # removed by another process replaying it
            if _lock(fd):
                yield DeadJournal(path, fd)
            else:
                os.close(fd)

    def entries(self) -> list[tuple[dict[str, Any], bool]]:
        """(row, reserved) for each journaled row; a line cut short by the kill is skipped."""
        with os.fdopen(os.dup(self._fd), "rb") as f:
            data = f.read()
        out: list[tuple[dict[str, Any], bool]] = []
        for line in data.splitlines():
            try:
                entry = orjson.loads(line)
                row: dict[str, Any] = entry["row"]
                row["created_at"] = datetime.fromisoformat(row["created_at"])
                for column, value in _ADDED.items():  # written by an older banjia
                    row.setdefault(column, value)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                log.warning("ledger journal %s: skipped an unreadable line", self.path.name)
                continue
            out.append((row, bool(entry.get("reserved"))))
        return out

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)

    def release(self) -> None:
        """Give up without removing the file (another start retries it)."""
        os.close(self._fd)
