"""Sessions, CSRF tokens and the login rate limit of the console.

A session is a signed cookie, ``<payload>.<mac>``: the payload names the master key's id, an
expiry and a random nonce; the MAC is HMAC-SHA256 under the console secret. Nothing in it is the
key, and signing (not a server-side table) lets every worker and replica check it. The secret is
shared where the deployment shares things: in Redis when ``store.redis_url`` is set, in
``.banjia/console.secret`` beside a SQLite database (workers on one machine), else per process.
It is mixed with the configured master key, so changing that key ends every session; a generated
master key is looked up on each request instead, so revoking it does the same.

Every form carries a CSRF token derived from the session's nonce (before login, from a nonce in a
short-lived cookie), and the cookies are SameSite=Strict besides.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from banjia.runtime import Runtime

__all__ = [
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "SESSION_TTL",
    "LoginLimiter",
    "Session",
    "Signer",
    "load_secret",
]

log = logging.getLogger("banjia.console")

SESSION_COOKIE = "banjia_console"
LOGIN_COOKIE = "banjia_console_login"
SESSION_TTL = 12 * 3600  # seconds a sign-in lasts
LOGIN_TTL = 3600  # the login form's nonce
_REDIS_SECRET = "banjia:console:secret"
_SECRET_FILE = "console.secret"


@dataclass(frozen=True, slots=True)
class Session:
    key_id: str  # the master key's id ("master" for the configured key)
    expires: int  # epoch seconds
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs sessions and derives CSRF tokens under one secret."""

    def __init__(self, secret: bytes, master_key: str | None) -> None:
        # a new configured master key invalidates every session signed under the old one
        salt = hashlib.sha256((master_key or "").encode()).digest()
        self._secret = hmac.new(secret, b"banjia-console-v1|" + salt, hashlib.sha256).digest()

    def _mac(self, data: bytes) -> bytes:
        return hmac.new(self._secret, data, hashlib.sha256).digest()

    def issue(self, key_id: str, ttl: int = SESSION_TTL) -> tuple[str, Session]:
        s = Session(key_id, int(time.time()) + ttl, secrets.token_urlsafe(16))
        payload = orjson.dumps({"k": s.key_id, "e": s.expires, "n": s.nonce})
        return f"{_b64(payload)}.{_b64(self._mac(payload))}", s

    def verify(self, cookie: str | None) -> Session | None:
        if not cookie or cookie.count(".") != 1 or len(cookie) > 512:
            return None
        body, mac = cookie.split(".")
        try:
            payload = _unb64(body)
            ok = hmac.compare_digest(_unb64(mac), self._mac(payload))
            data: Any = orjson.loads(payload) if ok else None
        except (ValueError, orjson.JSONDecodeError):
            return None
        if not isinstance(data, dict):
            return None
        k, e, n = data.get("k"), data.get("e"), data.get("n")
        if not (isinstance(k, str) and isinstance(e, int) and isinstance(n, str)) or e <= time.time():
            return None
        return Session(k, e, n)

    def csrf(self, nonce: str) -> str:
        return self._mac(b"csrf|" + nonce.encode())[:16].hex()

    def csrf_ok(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token:
            return False
        return hmac.compare_digest(self.csrf(nonce), token)


class LoginLimiter:
    """At most ``failures`` wrong sign-ins per client address within ``window`` seconds; past
    that every attempt from the address is refused until the oldest failure ages out."""

    def __init__(self, failures: int = 5, window: float = 300.0, max_clients: int = 10_000) -> None:
        self.failures = failures
        self.window = window
        self.max_clients = max_clients
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        q = self._seen.get(client)
        if q is None:
            if len(self._seen) >= self.max_clients:  # junk addresses must not grow memory
                self._seen.clear()
            q = self._seen[client] = deque()
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again; 0 when it may now."""
        now = time.monotonic()
        q = self._recent(client, now)
        if len(q) < self.failures:
            return 0
        return max(1, int(q[0] + self.window - now) + 1)

    def failed(self, client: str) -> None:
        self._recent(client, time.monotonic()).append(time.monotonic())

    def succeeded(self, client: str) -> None:
        self._seen.pop(client, None)


async def load_secret(rt: Runtime) -> bytes:
    """The console secret, shared as widely as this deployment shares state (see the module)."""
    redis = getattr(rt.store, "redis", None)
    if redis is not None:
        from redis.exceptions import RedisError

        try:
            await redis.set(_REDIS_SECRET, secrets.token_hex(32), nx=True)
            got = await redis.get(_REDIS_SECRET)
            if got:
                return got if isinstance(got, bytes) else str(got).encode()
        except (RedisError, OSError) as e:
            log.warning("console: Redis unreachable (%s); sessions are valid on this replica only",
                        type(e).__name__)
    path = _secret_file(rt)
    if path is not None:
        try:
            return _file_secret(path)
        except OSError as e:
            log.warning("console: cannot keep the session secret in %s (%s)", path, e.strerror)
    return secrets.token_bytes(32)


def _secret_file(rt: Runtime) -> Path | None:
    if rt.store is None:
        return None
    from banjia.store import master_key_file

    master = master_key_file(rt.config)
    return None if master is None else master.parent / _SECRET_FILE


def _file_secret(path: Path) -> bytes:
    if path.exists():
        return _read_secret(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # written whole under a temporary name, then linked into place: a worker starting at the
    # same moment either wins the link or reads a complete file
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_hex(32).encode())
        with contextlib.suppress(FileExistsError):  # another worker's secret won
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    data = path.read_bytes().strip()
    if len(data) < 32:
        raise OSError(0, "the file is too short", str(path))
    return data
