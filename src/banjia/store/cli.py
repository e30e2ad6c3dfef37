"""``banjia keys …``, ``banjia usage`` and ``banjia db upgrade``.

These work on the database named by the config (``--config`` or ``BANJIA_CONFIG``) directly, so
they need no running gateway; a running gateway sees a revocation within a second.
Each command sets ``func`` on its parser: ``args.func(args)`` runs it and returns the exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from banjia.config import Config, load_config
from banjia.errors import APIError, BanjiaError, bad_request
from banjia.store._store import Store, open_store, upgrade
from banjia.store.keys import KeyRecord
from banjia.store.reports import format_table, parse_since

__all__ = ["register"]


def _config_option(p: argparse.ArgumentParser) -> None:
    # SUPPRESS: an unset subcommand option must not overwrite a --config given before the command
    p.add_argument("--config", default=argparse.SUPPRESS, metavar="FILE",
                   help="config file (default: $BANJIA_CONFIG, else the embedded defaults)")


def _format_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("table", "json"), default="table")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = subparsers.add_parser("keys", help="create, list, revoke virtual keys; add grants")
    ks = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")

    create = ks.add_parser("create", help="create a key (printed once)")
    create.add_argument("--name", required=True)
    create.add_argument("--quota-tokens", type=int, metavar="T",
                        help="prompt + completion tokens the key may use (default: unlimited)")
    create.add_argument("--quota-cny", type=float, metavar="C",
                        help="CNY the key may spend at catalog prices (default: unlimited)")
    create.add_argument("--models", metavar="a,b", help="the models it may use (default: all)")
    create.add_argument("--rpm", type=int, help="requests per minute")
    create.add_argument("--tpm", type=int, help="tokens per minute")
    create.add_argument("--expires", metavar="ISO", help="expiry date-time (UTC unless given)")
    create.add_argument("--master", action="store_true",
                        help="an admin key (replaces a lost generated master key)")
    _format_option(create)
    _config_option(create)
    create.set_defaults(func=lambda a: _run(a, _keys_create))

    listing = ks.add_parser("list", help="list keys")
    listing.add_argument("--active", action="store_true", help="leave out revoked keys")
    _format_option(listing)
    _config_option(listing)
    listing.set_defaults(func=lambda a: _run(a, _keys_list))

    revoke = ks.add_parser("revoke", help="revoke a key (effective on every replica within 1 s)")
    revoke.add_argument("id")
    _config_option(revoke)
    revoke.set_defaults(func=lambda a: _run(a, _keys_revoke))

    grant = ks.add_parser("grant", help="add tokens and/or CNY to a key's quota")
    grant.add_argument("id")
    grant.add_argument("--tokens", type=int)
    grant.add_argument("--cny", type=float)
    grant.add_argument("--note")
    _format_option(grant)
    _config_option(grant)
    grant.set_defaults(func=lambda a: _run(a, _keys_grant))

    usage = subparsers.add_parser("usage", help="tokens, cost, OpenAI-equivalent cost, saving")
    usage.add_argument("--since", metavar="ISO", help="ISO date or date-time, or e.g. 7d, 24h")
    usage.add_argument("--by", choices=("key", "model", "provider"), default="key")
    _format_option(usage)
    _config_option(usage)
    usage.set_defaults(func=lambda a: _run(a, _usage))

    db = subparsers.add_parser("db", help="database maintenance")
    ds = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    up = ds.add_parser("upgrade", help="migrate the database to the newest schema")
    _config_option(up)
    up.set_defaults(func=_db_upgrade)


Command = Callable[[Store, argparse.Namespace], Awaitable[int]]


def _config(args: argparse.Namespace) -> Config:
    return load_config(getattr(args, "config", None))


def _run(args: argparse.Namespace, command: Command) -> int:
    async def main() -> int:
        store = await open_store(_config(args), background=False)
        try:
            return await command(store, args)
        finally:
            await store.aclose()

    try:
        return asyncio.run(main())
    except BanjiaError as e:
        flag = _FLAGS.get(e.param or "") if isinstance(e, APIError) else None
        print(f"banjia: {flag + ': ' if flag else ''}{e}", file=sys.stderr)
        return 1


# the command-line option of each field the store checks, to name it in an error
_FLAGS = {"quota_tokens": "--quota-tokens", "quota_cny": "--quota-cny", "models": "--models",
          "rpm": "--rpm", "tpm": "--tpm", "expires_at": "--expires", "name": "--name",
          "tokens": "--tokens", "cny": "--cny", "note": "--note", "since": "--since"}


def _db_upgrade(args: argparse.Namespace) -> int:
    try:
        config = _config(args)
        asyncio.run(upgrade(config))
    except BanjiaError as e:
        print(f"banjia: {e}", file=sys.stderr)
        return 1
    print("database is at the newest schema")
    return 0


def _print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise bad_request(f"--expires: not an ISO 8601 date-time: {value!r}") from e
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


async def _keys_create(store: Store, args: argparse.Namespace) -> int:
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    record, plaintext = await store.keys.create(
        name=args.name, quota_tokens=args.quota_tokens, quota_cny=args.quota_cny, models=models,
        rpm=args.rpm, tpm=args.tpm, expires_at=_expiry(args.expires), is_master=args.master)
    if args.format == "json":
        _print_json({**record.to_json(), "key": plaintext})
        return 0
    print(f"created {'master ' if args.master else ''}key {record.id} ({record.name})")
    print(plaintext)
    print("Store it now: it is shown only this once.", file=sys.stderr)
    return 0


def _limit(value: int | float | None, used: int | float) -> str:
    return "-" if value is None else f"{used:,}/{value:,}"


def _keys_table(records: list[KeyRecord]) -> str:
    head = ["id", "name", "prefix", "tokens used/quota", "CNY used/quota", "rpm", "tpm",
            "expires", "status"]
    rows = [head]
    for r in records:
        status = "revoked" if r.revoked_at else ("expired" if not r.active else "active")
        cny = "-" if r.quota_cny is None else f"{r.used_cny:.4f}/{r.quota_cny:.4f}"
        rows.append([r.id, r.name, r.prefix + "…", _limit(r.quota_tokens, r.used_tokens), cny,
                     str(r.rpm or "-"), str(r.tpm or "-"),
                     r.expires_at.strftime("%Y-%m-%d %H:%M") if r.expires_at else "-",
                     status + (" (master)" if r.is_master else "")])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


async def _keys_list(store: Store, args: argparse.Namespace) -> int:
    records = await store.keys.all(include_revoked=not args.active)
    if args.format == "json":
        _print_json({"object": "list", "data": [r.to_json() for r in records]})
    else:
        print(_keys_table(records) if records else "no keys")
    return 0


async def _keys_revoke(store: Store, args: argparse.Namespace) -> int:
    if not await store.keys.revoke(args.id):
        print(f"banjia: no key with id '{args.id}'", file=sys.stderr)
        return 1
    print(f"revoked {args.id}")
    return 0


async def _keys_grant(store: Store, args: argparse.Namespace) -> int:
    result = await store.keys.grant(args.id, tokens=args.tokens, cny=args.cny, note=args.note)
    if result is None:
        print(f"banjia: no key with id '{args.id}'", file=sys.stderr)
        return 1
    grant, record = result
    if args.format == "json":
        _print_json({**grant.to_json(), "key": record.to_json()})
    else:
        print(f"granted to {record.id}: " + ", ".join(
            p for p in (f"{grant.tokens:,} tokens" if grant.tokens else "",
                        f"CNY {grant.cny}" if grant.cny else "") if p))
        print(_keys_table([record]))
    return 0


async def _usage(store: Store, args: argparse.Namespace) -> int:
    report = await store.usage(since=parse_since(args.since), by=args.by)
    if args.format == "json":
        _print_json(report)
    else:
        print(format_table(report))
    return 0
