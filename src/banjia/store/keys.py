"""Virtual keys: creation (the plaintext is shown once), lookup by hash, revocation and grants.

A key is ``sk-banjia-`` plus 240 random bits. Only its SHA-256 is stored — a fast hash is enough for
secrets this long, since nobody can enumerate them — plus a short prefix that tells a human which
key is which. Lookups are cached for at most :data:`CACHE_TTL` seconds so that a revocation on any
replica takes effect everywhere within that time, without a cross-replica invalidation channel.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from banjia.context import KeyInfo
from banjia.errors import APIError, bad_request
from banjia.store._engine import Database
from banjia.store._text import clean, has_control, require_clean
from banjia.store.schema import NANO, from_nano, grants, keys, to_nano

__all__ = [
    "CACHE_TTL",
    "EXPIRES_MAX",
    "KEY_PREFIX",
    "MAX_CNY",
    "MAX_RATE",
    "MAX_TOKENS",
    "GrantRecord",
    "KeyRecord",
    "Keys",
    "StoreKey",
    "generate_key",
    "hash_key",
]

KEY_PREFIX = "sk-banjia-"
CACHE_TTL = 1.0  # seconds a lookup (or a miss) is trusted: the bound on revocation delay
_CACHE_MAX = 10_000  # distinct tokens remembered; random junk tokens must not grow memory
_SHOWN = len(KEY_PREFIX) + 4  # characters of the key kept as its visible prefix
# Bounds of what an administrator may set, so that no sum the store keeps can overflow its
# BIGINT column (nano-CNY: 1e9 CNY is 1e18 of 9.2e18) and rpm/tpm fit their INTEGER columns.
MAX_TOKENS = 10**15  # a token quota, a grant, and a quota with all its grants
MAX_CNY = 10**9  # the same in CNY
MAX_RATE = 2**31 - 1  # rpm, tpm
EXPIRES_MAX = datetime(9999, 12, 31, tzinfo=UTC)
_EXPIRES_MIN = datetime(1970, 1, 1, tzinfo=UTC)
_NOTE_MAX = 1000  # characters


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(30)


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_id(kind: str) -> str:
    return f"{kind}_{secrets.token_hex(8)}"


def store_unavailable(e: Exception) -> APIError:
    err = APIError(503, "The gateway's key and usage store is unavailable; retry shortly.",
                   type="server_error", code="store_unavailable")
    err.__cause__ = e
    return err


@dataclass(frozen=True, slots=True)
class StoreKey(KeyInfo):
    """A :class:`KeyInfo` plus what admission needs without another database round trip."""

    limited: bool = False  # has a token or a CNY quota: admission must reserve
    expires_at: float | None = None  # epoch seconds


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    name: str
    prefix: str
    is_master: bool
    models: list[str] | None
    rpm: int | None
    tpm: int | None
    quota_tokens: int | None
    quota_cny: float | None
    used_tokens: int
    used_cny: float
    reserved_tokens: int
    reserved_cny: float
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime

    @property
    def remaining_tokens(self) -> int | None:
        if self.quota_tokens is None:
            return None
        return self.quota_tokens - self.used_tokens - self.reserved_tokens

    @property
    def remaining_cny(self) -> float | None:
        if self.quota_cny is None:
            return None
        return round(self.quota_cny - self.used_cny - self.reserved_cny, 9)

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "key",
            "name": self.name,
            "prefix": self.prefix,
            "is_master": self.is_master,
            "models": self.models,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "quota_tokens": self.quota_tokens,
            "quota_cny": self.quota_cny,
            "used_tokens": self.used_tokens,
            "used_cny": round(self.used_cny, 9),
            "remaining_tokens": self.remaining_tokens,
            "remaining_cny": self.remaining_cny,
            "expires_at": _iso(self.expires_at),
            "revoked_at": _iso(self.revoked_at),
            "created_at": _iso(self.created_at),
            "active": self.active,
        }


@dataclass(frozen=True, slots=True)
class GrantRecord:
    id: str
    key_id: str
    tokens: int | None
    cny: float | None
    note: str | None
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "object": "grant", "key_id": self.key_id, "tokens": self.tokens,
                "cny": self.cny, "note": self.note, "created_at": _iso(self.created_at)}


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat().replace("+00:00", "Z")


def _record(row: Row[Any]) -> KeyRecord:
    m = row._mapping
    return KeyRecord(
        id=m["id"], name=m["name"], prefix=m["prefix"], is_master=bool(m["is_master"]),
        models=orjson.loads(m["models"]) if m["models"] is not None else None,
        rpm=m["rpm"], tpm=m["tpm"], quota_tokens=m["quota_tokens"],
        quota_cny=None if m["quota_nano_cny"] is None else from_nano(m["quota_nano_cny"]),
        used_tokens=m["used_tokens"], used_cny=from_nano(m["used_nano_cny"]),
        reserved_tokens=m["reserved_tokens"], reserved_cny=from_nano(m["reserved_nano_cny"]),
        expires_at=m["expires_at"], revoked_at=m["revoked_at"], created_at=m["created_at"],
    )


def _plausible_id(key_id: str) -> bool:
    """Whether ``key_id`` could name a key (else it is not looked up: PostgreSQL refuses NUL)."""
    return isinstance(key_id, str) and len(key_id) <= 40 and not has_control(key_id)


def _store_key(row: Row[Any]) -> StoreKey:
    m = row._mapping
    models = orjson.loads(m["models"]) if m["models"] is not None else None
    expires: datetime | None = m["expires_at"]
    return StoreKey(
        id=m["id"], name=m["name"], is_master=bool(m["is_master"]),
        models=frozenset(models) if models is not None else None, rpm=m["rpm"], tpm=m["tpm"],
        limited=m["quota_tokens"] is not None or m["quota_nano_cny"] is not None,
        expires_at=expires.timestamp() if expires is not None else None,
    )


def check_number(name: str, value: object, low: int, high: int, *, whole: bool,
                 above_low: bool = False) -> None:
    """400 naming the field and the range unless ``value`` is a number from ``low`` (or above
    it, with ``above_low``) to ``high``, and whole if asked."""
    ok = (not isinstance(value, bool) and isinstance(value, int | float)
          and (isinstance(value, int) or (not whole and math.isfinite(value)))
          and (low < value if above_low else low <= value) and value <= high)
    if not ok:
        kind = "a whole number" if whole else "a number"
        start = f"above {low}" if above_low else f"from {low}"
        raise bad_request(f"'{name}' must be {kind} {start} to {high}.", param=name)


def _check_limits(quota_tokens: int | None, quota_cny: float | None, rpm: int | None,
                  tpm: int | None) -> None:
    for name, value, low, high in (("quota_tokens", quota_tokens, 0, MAX_TOKENS),
                                   ("quota_cny", quota_cny, 0, MAX_CNY),
                                   ("rpm", rpm, 1, MAX_RATE), ("tpm", tpm, 1, MAX_RATE)):
        if value is not None:
            check_number(name, value, low, high, whole=name != "quota_cny")


def _check_models(models: list[str] | None) -> None:
    if models is None:
        return
    if not isinstance(models, list) or not all(isinstance(m, str) and m.strip() for m in models):
        raise bad_request("'models' must be a list of model names.", param="models")
    if len(models) > 10_000 or any(len(m) > 200 or has_control(m) for m in models):
        raise bad_request("'models' must be at most 10000 names of at most 200 characters, "
                          "without control characters.", param="models")


def check_expiry(value: datetime | None) -> datetime | None:
    """``expires_at`` in UTC (naive means UTC), or a 400 when it is outside 1970–9999."""
    if value is None:
        return None
    try:
        t = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # an offset pushes 0001-01-01 or 9999-12-31 off the calendar
        t = None
    if t is None or not _EXPIRES_MIN <= t <= EXPIRES_MAX:
        raise bad_request("'expires_at' must be a date-time between 1970-01-01 and 9999-12-31 "
                          "(UTC).", param="expires_at")
    return t


async def _insert_key(
    conn: AsyncConnection,
    *,
    id: str,
    name: str,
    is_master: bool,
    models: list[str] | None = None,
    rpm: int | None = None,
    tpm: int | None = None,
    quota_tokens: int | None = None,
    quota_cny: float | None = None,
    expires_at: datetime | None = None,
) -> tuple[KeyRecord, str]:
    plaintext = generate_key()
    await conn.execute(keys.insert().values(
        id=id, name=clean(name)[:200], prefix=plaintext[:_SHOWN], hash=hash_key(plaintext),
        is_master=is_master,
        # JSON escapes control characters: the text itself is always storable
        models=orjson.dumps(sorted(set(models))).decode() if models is not None else None,
        rpm=rpm, tpm=tpm, quota_tokens=quota_tokens,
        quota_nano_cny=None if quota_cny is None else to_nano(quota_cny),
        used_tokens=0, used_nano_cny=0, reserved_tokens=0, reserved_nano_cny=0,
        expires_at=expires_at, revoked_at=None, created_at=datetime.now(UTC)))
    row = (await conn.execute(select(keys).where(keys.c.id == id))).one()
    return _record(row), plaintext


class Keys:
    """Key management and the :class:`~banjia.context.Authenticator` over the store."""

    def __init__(self, db: Database, master_key: str | None = None) -> None:
        self._db = db
        self._master = master_key.encode() if master_key else None
        self._cache: dict[str, tuple[float, StoreKey | None]] = {}

    # -- authentication (the request path) -------------------------------------------------------
    async def authenticate(self, token: str) -> KeyInfo | None:
        if self._master is not None and hmac.compare_digest(token.encode(), self._master):
            return StoreKey(id="master", name="master", is_master=True)
        if not token.startswith(KEY_PREFIX) or len(token) > 100:
            return None  # not one of ours: no database round trip for junk
        digest = hash_key(token)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            key = hit[1]
        else:
            key = await self._lookup(digest)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[digest] = (now + CACHE_TTL, key)
        if key is None or (key.expires_at is not None and key.expires_at <= time.time()):
            return None
        return key

    async def _lookup(self, digest: str) -> StoreKey | None:
        try:
            async with self._db.read() as conn:
                row = (await conn.execute(
                    select(keys).where(keys.c.hash == digest, keys.c.revoked_at.is_(None))
                )).first()
        except SQLAlchemyError as e:
            raise store_unavailable(e) from e
        # the index found the row by hash already; compare again in constant time regardless
        if row is None or not hmac.compare_digest(row._mapping["hash"], digest):
            return None
        return _store_key(row)

    def forget(self) -> None:
        """Drop cached lookups (after this process changed a key)."""
        self._cache.clear()

    # -- management ------------------------------------------------------------------------------
    async def create(
        self,
        *,
        name: str,
        quota_tokens: int | None = None,
        quota_cny: float | None = None,
        models: list[str] | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        expires_at: datetime | None = None,
        is_master: bool = False,
        id: str | None = None,
    ) -> tuple[KeyRecord, str]:
        """A new key and its plaintext — the only time the plaintext exists outside the client."""
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise bad_request("'name' must be a non-empty string of at most 200 characters.",
                              param="name")
        require_clean("name", name)
        _check_limits(quota_tokens, quota_cny, rpm, tpm)
        _check_models(models)
        expires_at = check_expiry(expires_at)
        if id is not None and (len(id) > 40 or has_control(id)):
            raise bad_request("'id' must be at most 40 characters without control characters.",
                              param="id")
        async with self._db.write() as conn:
            record, plaintext = await _insert_key(
                conn, id=id or new_id("key"), name=name.strip(), is_master=is_master,
                models=models, rpm=rpm, tpm=tpm, quota_tokens=quota_tokens, quota_cny=quota_cny,
                expires_at=expires_at)
        self.forget()
        return record, plaintext

    async def create_master(self) -> str | None:
        """A generated master key, unless an active one exists already (None then)."""
        async with self._db.write() as conn:
            await self._db.claim_write_lock(conn)
            active = (await conn.execute(
                select(keys.c.id).where(keys.c.is_master.is_(True), keys.c.revoked_at.is_(None))
            )).first()
            if active is not None:
                return None
            taken = (await conn.execute(select(keys.c.id).where(keys.c.id == "master"))).first()
            _, plaintext = await _insert_key(conn, id=new_id("key") if taken else "master",
                                             name="master", is_master=True)
        self.forget()
        return plaintext

    async def all(self, *, include_revoked: bool = True) -> list[KeyRecord]:
        q = select(keys).order_by(keys.c.created_at, keys.c.id)
        if not include_revoked:
            q = q.where(keys.c.revoked_at.is_(None))
        async with self._db.read() as conn:
            return [_record(r) for r in (await conn.execute(q)).all()]

    async def get(self, key_id: str) -> KeyRecord | None:
        if not _plausible_id(key_id):
            return None
        async with self._db.read() as conn:
            row = (await conn.execute(select(keys).where(keys.c.id == key_id))).first()
        return None if row is None else _record(row)

    async def revoke(self, key_id: str) -> bool:
        """Revoke a key (False if there is no such key; revoking twice is fine)."""
        if not _plausible_id(key_id):
            return False
        async with self._db.write() as conn:
            await conn.execute(
                update(keys).where(keys.c.id == key_id, keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC)))
            found = (await conn.execute(select(keys.c.id).where(keys.c.id == key_id))).first()
        self.forget()
        return found is not None

    async def grant(self, key_id: str, *, tokens: int | None = None, cny: float | None = None,
                    note: str | None = None) -> tuple[GrantRecord, KeyRecord] | None:
        """Add to a key's quota. A unit the key has no quota in stays unlimited."""
        if tokens is None and cny is None:
            raise bad_request("A grant needs 'tokens' and/or 'cny'.", param="tokens")
        if tokens is not None:
            check_number("tokens", tokens, 1, MAX_TOKENS, whole=True)
        if cny is not None:
            check_number("cny", cny, 0, MAX_CNY, whole=False, above_low=True)
        if note is not None:
            if not isinstance(note, str) or len(note) > _NOTE_MAX:
                raise bad_request(f"'note' must be a string of at most {_NOTE_MAX} characters.",
                                  param="note")
            require_clean("note", note, multiline=True)
        if not _plausible_id(key_id):
            return None
        nano = None if cny is None else to_nano(cny)
        grant = GrantRecord(id=new_id("grant"), key_id=key_id, tokens=tokens, cny=cny, note=note,
                            created_at=datetime.now(UTC))
        k = keys.c
        async with self._db.write() as conn:
            changed = await conn.execute(
                update(keys).where(
                    k.id == key_id,
                    # the sums must stay within the bounds (and the columns)
                    k.quota_tokens.is_(None) | (k.quota_tokens <= MAX_TOKENS - (tokens or 0)),
                    k.quota_nano_cny.is_(None)
                    | (k.quota_nano_cny <= MAX_CNY * NANO - (nano or 0)),
                ).values(
                    quota_tokens=k.quota_tokens + (tokens or 0),
                    quota_nano_cny=k.quota_nano_cny + (nano or 0)))
            if changed.rowcount == 0:
                if (await conn.execute(select(k.id).where(k.id == key_id))).first() is None:
                    return None
                raise bad_request(f"This grant would take the key's quota past its maximum "
                                  f"({MAX_TOKENS} tokens, CNY {MAX_CNY}).", param="tokens")
            await conn.execute(grants.insert().values(
                id=grant.id, key_id=key_id, tokens=tokens, nano_cny=nano,
                note=None if note is None else clean(note, multiline=True),
                created_at=grant.created_at))
            row = (await conn.execute(select(keys).where(keys.c.id == key_id))).one()
        self.forget()
        return grant, _record(row)

    async def grants(self, key_id: str) -> list[GrantRecord]:
        if not _plausible_id(key_id):
            return []
        q = select(grants).where(grants.c.key_id == key_id).order_by(grants.c.created_at)
        async with self._db.read() as conn:
            rows = (await conn.execute(q)).all()
        return [GrantRecord(id=r.id, key_id=r.key_id, tokens=r.tokens,
                            cny=None if r.nano_cny is None else from_nano(r.nano_cny),
                            note=r.note, created_at=r.created_at) for r in rows]
