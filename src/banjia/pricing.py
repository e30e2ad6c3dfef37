"""The pricing engine: the ``pricing:`` schema (interface.md) and the CNY price of one request.

One :class:`Schedule` is what a vendor charges for one model over some period: flat input and
output rates, cache read and write rates, a batch multiplier, ``tiers`` (ONE rate for the whole
request, chosen by its prompt tokens) and ``bands`` (weekday and hour windows in Asia/Shanghai
time), plus the media fields (``per_image``, ``per_audio_second``, ``per_million_chars``), which
are parsed and checked here and used by the media endpoints. The catalog ships schedules for
every model it prices; the config's ``pricing:`` overrides them per ``provider/model``.

Which rates apply to a request: the first tier whose ``up_to`` is at least its prompt tokens;
else the first band whose days and hours hold its start time (a band without ``days``/``hours``
always matches); else the top-level ``input``/``output``. A tier or band that matches sets every
rate it names; the cache rates it leaves out come from the top level, then from its own input rate.

Token arithmetic (the recurring bugs of peer gateways, market-2026.md): cached prompt tokens and
tokens written to a vendor's cache are part of the prompt tokens, billed once at their own rate
and never subtracted twice; no count ever goes negative. :class:`Pricer` is the one function that
``banjia cost``, the ledger and the quota reservation use.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from banjia.catalog import Catalog

__all__ = [
    "BEIJING",
    "CATALOG_PRICES",
    "DAYS",
    "MEDIA_UNITS",
    "Band",
    "Pricer",
    "PricingError",
    "Quote",
    "Rates",
    "Schedule",
    "Tier",
    "cache_writes",
    "parse_overrides",
    "parse_schedule",
    "to_datetime",
]

log = logging.getLogger("banjia.pricing")

BEIJING = ZoneInfo("Asia/Shanghai")  # every vendor's bands are written in Beijing time
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PER = 1_000_000  # rates are CNY per million tokens
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_RATE_KEYS = ("input", "output", "cache_read", "cache_write")
_MEDIA_KEYS = ("per_image", "per_audio_second", "per_million_chars")
# what a media request makes (RequestContext.media) → (the rate that prices it, units per rate)
MEDIA_UNITS: Mapping[str, tuple[str, int]] = {
    "images": ("per_image", 1),
    "audio_seconds": ("per_audio_second", 1),
    "chars": ("per_million_chars", 1_000_000),
}
_TOP_KEYS = {*_RATE_KEYS, *_MEDIA_KEYS, "batch", "tiers", "bands"}
_PROVENANCE_KEYS = {"date", "source", "unconfirmed", "note"}
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class PricingError(ValueError):
    """A price schedule is malformed; the message starts with the key path that is wrong."""


# -- the schedule -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rates:
    """CNY per million tokens; None where the figure is unknown."""

    input: float | None
    output: float | None
    cache_read: float | None = None
    cache_write: float | None = None


@dataclass(frozen=True, slots=True)
class Tier:
    up_to: int  # prompt tokens, inclusive
    rates: Rates


@dataclass(frozen=True, slots=True)
class Band:
    days: frozenset[int] | None  # 0 = Monday; None: every day
    hours: tuple[tuple[int, int], ...] | None  # minutes since midnight, half-open; None: all day
    rates: Rates

    def matches(self, local: _dt.datetime) -> bool:
        if self.days is not None and local.weekday() not in self.days:
            return False
        if self.hours is None:
            return True
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.hours)

    def describe(self) -> str:
        days = "every day" if self.days is None else _days_text(self.days)
        if self.hours is None:
            return days
        hours = ", ".join(f"{_hhmm(s)}-{_hhmm(e)}" for s, e in self.hours)
        return f"{days} {hours}"


@dataclass(frozen=True, slots=True)
class Quote:
    """The price of one request: ``cost_cny`` None when a rate it needs is unknown; ``rule`` says
    which schedule and rule set the rates (or why there is no price)."""

    cost_cny: float | None
    rule: str
    openai_cost_cny: float = 0.0


@dataclass(frozen=True, slots=True)
class Schedule:
    """A price schedule (the ``pricing:`` schema); the provenance fields are the catalog's."""

    rates: Rates
    tiers: tuple[Tier, ...] = ()
    bands: tuple[Band, ...] = ()
    batch: float | None = None  # multiplier for batch requests
    per_image: float | None = None  # CNY per image made
    per_audio_second: float | None = None  # CNY per second of audio transcribed
    per_million_chars: float | None = None  # CNY per million characters of speech input
    date: str | None = None  # from when the figures apply (YYYY, YYYY-MM or YYYY-MM-DD)
    source: str | None = None  # URL of the page the figures come from
    unconfirmed: bool = False
    note: str = ""

    @property
    def list_rates(self) -> Rates:
        """The rates to show in a table: the top level, else the first tier, else the last band
        (the catch-all: off-peak where a vendor has peak hours)."""
        if self.rates.input is not None or not (self.tiers or self.bands):
            return self.rates
        return self.tiers[0].rates if self.tiers else self.bands[-1].rates

    @property
    def shape(self) -> str:
        """"flat", "tiered", "banded" or "tiered, banded" (what ``banjia models`` shows)."""
        kinds = [k for k, on in (("tiered", self.tiers), ("banded", self.bands)) if on]
        return ", ".join(kinds) or "flat"

    def _pick(self, prompt_tokens: int,
              at: _dt.datetime) -> tuple[Rates, int, int, _dt.datetime | None]:
        """The rates for ``prompt_tokens`` at ``at``: (rates, tier index or -1, band index or -1,
        the Beijing time a band matched)."""
        for i, tier in enumerate(self.tiers):
            if prompt_tokens <= tier.up_to:
                return tier.rates, i, -1, None
        if self.bands:
            local = at.astimezone(BEIJING)
            for i, band in enumerate(self.bands):
                if band.matches(local):
                    return band.rates, -1, i, local
        return self.rates, -1, -1, None

    def select(self, prompt_tokens: int, at: _dt.datetime) -> tuple[Rates, str]:
        """The rates for a request with ``prompt_tokens`` that started at ``at``, and the rule that
        chose them."""
        rates, tier, band, local = self._pick(prompt_tokens, at)
        if tier >= 0:
            return rates, f"tiers[{tier}] (prompt {prompt_tokens} <= {self.tiers[tier].up_to})"
        if band >= 0 and local is not None:
            when = local.strftime("%a %Y-%m-%d %H:%M")
            return rates, f"bands[{band}] ({self.bands[band].describe()}; started {when} Beijing)"
        return rates, "flat" if not (self.tiers or self.bands) else "top-level rates"

    def _charges(self, rates: Rates, prompt: int, completion: int, cached: int,
                 cache_write: int) -> tuple[tuple[str, float | None, int], ...]:
        """(what, CNY per million, tokens) for each kind of token a request is billed for."""
        if min(prompt, completion, cached, cache_write) < 0:
            for name, n in (("prompt", prompt), ("completion", completion), ("cached", cached),
                            ("cache_write", cache_write)):
                if n < 0:
                    raise ValueError(f"{name} tokens must not be negative, got {n}")
        cached = min(cached, prompt)
        cache_write = min(cache_write, prompt - cached)
        fresh = prompt - cached - cache_write
        input_rate = rates.input
        read = _first(rates.cache_read, self.rates.cache_read, input_rate)
        write = _first(rates.cache_write, self.rates.cache_write, input_rate)
        return (("input", input_rate, fresh), ("cache_read", read, cached),
                ("cache_write", write, cache_write), ("output", rates.output, completion))

    def _total(self, charges: tuple[tuple[str, float | None, int], ...], batch: bool) -> float | None:
        total = 0.0
        for _, rate, n in charges:
            if n:
                if rate is None:
                    return None
                total += n * rate
        total /= _PER
        if batch and self.batch is not None:
            total *= self.batch
        return total

    def cost(self, prompt: int, completion: int, *, cached: int = 0, cache_write: int = 0,
             at: _dt.datetime, batch: bool = False) -> float | None:
        """:meth:`quote`'s ``cost_cny`` without the text of its rule (all a ledger row needs)."""
        rates = self._pick(prompt, at)[0]
        return self._total(self._charges(rates, prompt, completion, cached, cache_write), batch)

    def quote(self, prompt: int, completion: int, *, cached: int = 0, cache_write: int = 0,
              at: _dt.datetime, batch: bool = False) -> Quote:
        """The CNY price of a request under this schedule (see the module docstring)."""
        rates, rule = self.select(prompt, at)
        needed = self._charges(rates, prompt, completion, cached, cache_write)
        unknown = [name for name, rate, n in needed if n and rate is None]
        if unknown:
            return Quote(None, f"{rule}: no {' or '.join(unknown)} price known")
        parts = [f"{name} {n} x {rate:g}" for name, rate, n in needed if n and rate is not None]
        if batch and self.batch is not None:
            parts.append(f"batch x {self.batch:g}")
        elif batch:
            parts.append("no batch discount listed")
        return Quote(self._total(needed, batch), f"{rule}: " + (", ".join(parts) or "no tokens"))

    def quote_media(self, units: Mapping[str, float | None], *, prompt: int = 0,
                    at: _dt.datetime) -> Quote:
        """The CNY price of what a media request made (``units``: ``images``, ``audio_seconds``,
        ``chars`` — see :data:`MEDIA_UNITS`), plus its ``prompt`` tokens at the input rate (rerank).
        None when a rate it needs, or the amount made, is unknown."""
        total = 0.0
        parts: list[str] = []
        for unit, amount in units.items():
            key, per = MEDIA_UNITS[unit]
            rate = getattr(self, key)
            if rate == 0:
                continue  # free: however much was made
            if amount is None:
                return Quote(None, f"the {unit.replace('_', ' ')} made are unknown")
            if amount and rate is None:
                return Quote(None, f"no {key} price known")
            if amount:
                total += amount * (rate or 0.0) / per
                parts.append(f"{unit} {amount:g} x {rate:g}" + (" per million" if per > 1 else ""))
        if prompt:
            rates, rule = self.select(prompt, at)
            if rates.input is None:
                return Quote(None, f"{rule}: no input price known")
            total += prompt * rates.input / _PER
            parts.append(f"input {prompt} x {rates.input:g}")
        return Quote(total, ", ".join(parts) or "nothing made")


def _first(*values: float | None) -> float | None:
    for v in values:
        if v is not None:
            return v
    return None


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _days_text(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{DAYS[ordered[0]]}-{DAYS[ordered[-1]]}"
    return ",".join(DAYS[d] for d in ordered)


def to_datetime(at: float | _dt.datetime | None) -> _dt.datetime:
    """An aware time: a Unix timestamp, an aware datetime, a naive one read as Beijing time, or
    now."""
    if at is None:
        return _dt.datetime.now(_dt.UTC)
    if isinstance(at, _dt.datetime):
        return at if at.tzinfo is not None else at.replace(tzinfo=BEIJING)
    return _dt.datetime.fromtimestamp(at, _dt.UTC)


# -- parsing ------------------------------------------------------------------------------------


def parse_schedule(raw: object, where: str, *, scale: float = 1.0,
                   provenance: bool = False) -> Schedule:
    """A schedule from its YAML form. ``scale`` converts the money figures (USD → CNY for
    OpenAI's reference prices); ``provenance`` admits the catalog's ``date``/``source``/
    ``unconfirmed``/``note``. Raises :class:`PricingError` naming the key."""
    item = _mapping(raw, where)
    allowed = _TOP_KEYS | (_PROVENANCE_KEYS if provenance else set())
    _only(item, allowed, where)
    rates = _rates(item, where, scale, required=False)
    tiers = tuple(_tiers(item["tiers"], f"{where}.tiers", scale)) if "tiers" in item else ()
    bands = tuple(_bands(item["bands"], f"{where}.bands", scale)) if "bands" in item else ()
    media = {k: _money(item.get(k), f"{where}.{k}", scale) for k in _MEDIA_KEYS}
    batch = None
    if item.get("batch") is not None:
        batch = _number(item["batch"], f"{where}.batch")
        if batch <= 0:
            raise PricingError(f"{where}.batch: a multiplier must be above 0, got {item['batch']!r}")
    if not tiers and not bands and not any(k in item for k in (*_RATE_KEYS, *_MEDIA_KEYS)):
        raise PricingError(f"{where}: gives no price (input/output, tiers, bands or a media rate)")
    source = item.get("source")
    if source is not None and not (isinstance(source, str) and source.startswith("https://")):
        raise PricingError(f"{where}.source: must be an https:// URL, got {source!r}")
    unconfirmed = item.get("unconfirmed", False)
    if not isinstance(unconfirmed, bool):
        raise PricingError(f"{where}.unconfirmed: must be true or false, got {unconfirmed!r}")
    note = item.get("note", "")
    if not isinstance(note, str):
        raise PricingError(f"{where}.note: must be text, got {note!r}")
    return Schedule(rates, tiers, bands, batch, media["per_image"], media["per_audio_second"],
                    media["per_million_chars"], _date(item.get("date"), f"{where}.date"),
                    source, unconfirmed, note)


def parse_overrides(raw: Mapping[str, Any], providers: Iterable[str] | None = None,
                    where: str = "pricing") -> dict[str, Schedule]:
    """The config's ``pricing:`` section: ``provider/model`` → schedule. ``providers`` (the
    configured names), when given, must include each entry's provider."""
    known = None if providers is None else set(providers)
    out: dict[str, Schedule] = {}
    for key, body in raw.items():
        name = str(key)
        provider, sep, model = name.partition("/")
        if not sep or not provider or not model:
            raise PricingError(f"{where}.{name}: must be 'provider/model'")
        if known is not None and provider not in known:
            raise PricingError(f"{where}.{name}: no provider named '{provider}' is configured")
        out[name] = parse_schedule(body, f"{where}.{name}")
    return out


def _rates(item: Mapping[str, Any], where: str, scale: float, *, required: bool) -> Rates:
    if required:
        for k in ("input", "output"):
            if k not in item:
                raise PricingError(f"{where}.{k}: missing")
    values = {k: _money(item.get(k), f"{where}.{k}", scale) for k in _RATE_KEYS}
    return Rates(**values)


def _tiers(raw: object, where: str, scale: float) -> Iterable[Tier]:
    last = 0
    items = _sequence(raw, where)
    if not items:
        raise PricingError(f"{where}: is empty (leave it out instead)")
    for i, body in enumerate(items):
        w = f"{where}[{i}]"
        item = _mapping(body, w)
        _only(item, {"up_to", *_RATE_KEYS}, w)
        up_to = item.get("up_to")
        if isinstance(up_to, bool) or not isinstance(up_to, int) or up_to <= 0:
            raise PricingError(f"{w}.up_to: must be a positive whole number of prompt tokens, "
                               f"got {up_to!r}")
        if up_to <= last:
            raise PricingError(f"{w}.up_to: {up_to} must be above the previous tier's {last}")
        last = up_to
        yield Tier(up_to, _rates(item, w, scale, required=True))


def _bands(raw: object, where: str, scale: float) -> Iterable[Band]:
    catch_all: int | None = None
    items = _sequence(raw, where)
    if not items:
        raise PricingError(f"{where}: is empty (leave it out instead)")
    for i, body in enumerate(items):
        w = f"{where}[{i}]"
        if catch_all is not None:
            raise PricingError(f"{w}: never used: {where}[{catch_all}] has no days or hours and "
                               "always matches (put it last)")
        item = _mapping(body, w)
        _only(item, {"days", "hours", *_RATE_KEYS}, w)
        days = _days(item["days"], f"{w}.days") if "days" in item else None
        hours = _hours(item["hours"], f"{w}.hours") if "hours" in item else None
        if days is None and hours is None:
            catch_all = i
        yield Band(days, hours, _rates(item, w, scale, required=True))


def _days(raw: object, where: str) -> frozenset[int]:
    items = _sequence(raw, where)
    if not items:
        raise PricingError(f"{where}: is empty (leave it out to mean every day)")
    out: set[int] = set()
    for i, d in enumerate(items):
        name = str(d).strip().lower() if isinstance(d, str) else None
        if name not in DAYS:
            raise PricingError(f"{where}[{i}]: {d!r} is not a day ({', '.join(DAYS)})")
        out.add(DAYS.index(name))
    return frozenset(out)


def _hours(raw: object, where: str) -> tuple[tuple[int, int], ...]:
    items = _sequence(raw, where)
    if not items:
        raise PricingError(f"{where}: is empty (leave it out to mean all day)")
    out = []
    for i, text in enumerate(items):
        w = f"{where}[{i}]"
        m = _HOURS.match(text) if isinstance(text, str) else None
        if m is None:
            raise PricingError(f'{w}: "{text}" is not HH:MM-HH:MM')
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise PricingError(f'{w}: "{text}" is not HH:MM-HH:MM')
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start >= end:
            raise PricingError(f'{w}: "{text}" ends before it starts (a window that crosses '
                               'midnight is written as two, e.g. "22:00-24:00" and "00:00-02:00")')
        out.append((start, end))
    return tuple(out)


def _mapping(raw: object, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise PricingError(f"{where}: expected a mapping, got {type(raw).__name__}")
    return cast(Mapping[str, Any], raw)


def _sequence(raw: object, where: str) -> list[Any]:
    if not isinstance(raw, list):
        raise PricingError(f"{where}: expected a list, got {type(raw).__name__}")
    return raw


def _only(item: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    extra = sorted(str(k) for k in set(item) - set(allowed))
    if extra:
        raise PricingError(f"{where}: unknown key(s) {', '.join(extra)}")


def _number(raw: object, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
        raise PricingError(f"{where}: must be a non-negative number, got {raw!r}")
    return float(raw)


def _money(raw: object, where: str, scale: float) -> float | None:
    if raw is None:
        return None
    return round(_number(raw, where) * scale, 9)


def _date(raw: object, where: str) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, _dt.date):  # an unquoted YYYY-MM-DD
        return raw.isoformat()
    text = str(raw)
    if not _DATE.match(text):
        raise PricingError(f"{where}: expected YYYY, YYYY-MM or YYYY-MM-DD, got {raw!r}")
    return text


# -- the one pricing function -------------------------------------------------------------------


@dataclass
class Pricer:
    """Prices requests from the config's ``pricing:`` overrides, then the catalog.

    ``overrides`` maps ``provider/model`` (provider as configured) to a schedule; ``catalog``
    defaults to the bundled one."""

    overrides: Mapping[str, Schedule] = field(default_factory=dict)
    catalog: Catalog | None = None
    # (model asked, endpoint) → the OpenAI model compared against: the catalog is immutable, and
    # resolving a name by OpenAI's rules costs more than the rest of a row's price; bounded, since
    # the names are the clients'
    _equivalents: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_config(cls, config: Any) -> Pricer:
        """The pricer for a :class:`banjia.config.Config` (its ``pricing:`` section, if any)."""
        raw = getattr(config, "pricing", None) or {}
        providers = getattr(config, "providers", None)
        return cls(parse_overrides(raw, providers))

    def _catalog(self) -> Catalog:
        if self.catalog is None:
            from banjia.catalog import load_catalog

            self.catalog = load_catalog()
        return self.catalog

    def schedule(self, provider: str | None, provider_type: str | None, model: str | None,
                 at: _dt.datetime) -> tuple[Schedule, str] | None:
        """The schedule in force at ``at`` and where it comes from, or None when nothing prices
        this model."""
        found = self._find(provider, provider_type, model, at)
        if found is None:
            return None
        sched, key, info = found
        if info is None:
            return sched, f"config pricing {key}"
        dated = f" from {sched.date}" if sched.date else ""
        return sched, f"catalog {provider_type}/{info.id}{dated}"

    def _find(self, provider: str | None, provider_type: str | None, model: str | None,
              at: _dt.datetime) -> tuple[Schedule, str, Any] | None:
        """(schedule, the config's pricing key, the catalog entry: None for the config's)."""
        if model is None:
            return None
        if provider is not None and self.overrides:
            key = f"{provider}/{model}"
            found = self.overrides.get(key) or self.overrides.get(key.lower())
            if found is not None:
                return found, key, None
        if provider_type is None:
            return None
        info = self._catalog().model(provider_type, model)
        if info is None:
            return None
        sched = info.schedule_at(at)
        if sched is None:
            return None
        return sched, "", info

    def quote(self, *, provider: str | None, provider_type: str | None, model: str | None,
              prompt: int, completion: int, cached: int = 0, cache_write: int = 0,
              at: float | _dt.datetime | None = None, batch: bool = False,
              asked: str | None = None, endpoint: str = "chat/completions") -> Quote:
        """The CNY price of one request, what OpenAI would have charged for the model ``asked``
        (or the endpoint's default comparison model), and the rule applied."""
        when = to_datetime(at)
        found = self.schedule(provider, provider_type, model, when)
        openai = self.openai_cost(asked or "", endpoint, prompt, completion, cached=cached, at=when)
        if found is None:
            return Quote(None, f"no price for {provider or provider_type}/{model}", openai)
        sched, origin = found
        q = sched.quote(prompt, completion, cached=cached, cache_write=cache_write, at=when,
                        batch=batch)
        return Quote(q.cost_cny, f"{origin}: {q.rule}", openai)

    def openai_cost(self, asked: str, endpoint: str, prompt: int, completion: int, *,
                    cached: int = 0, at: float | _dt.datetime | None = None) -> float:
        """What OpenAI charges for the same tokens, in CNY at the catalog's rate (cached tokens at
        OpenAI's own cache rate)."""
        when = to_datetime(at)
        sched = self._equivalent(asked, endpoint).schedule_at(when)
        if sched is None:
            return 0.0
        return sched.cost(prompt, completion, cached=cached, at=when) or 0.0

    def _equivalent(self, asked: str, endpoint: str) -> Any:
        """The OpenAI model that ``asked`` is compared with (cached per name and endpoint)."""
        ref = self._equivalents.get((asked, endpoint))
        if ref is None:
            ref = self._catalog().openai_equivalent(asked, endpoint)  # raises for an unknown endpoint
            if len(self._equivalents) >= 4096:
                self._equivalents.clear()
            self._equivalents[(asked, endpoint)] = ref
        return ref

    def quote_media(self, *, provider: str | None, provider_type: str | None, model: str | None,
                    units: Mapping[str, float | None], prompt: int = 0,
                    at: float | _dt.datetime | None = None) -> Quote:
        """The CNY price of a media request (:meth:`Schedule.quote_media`) under the schedule in
        force at ``at``."""
        when = to_datetime(at)
        found = self.schedule(provider, provider_type, model, when)
        if found is None:
            return Quote(None, f"no price for {provider or provider_type}/{model}")
        sched, origin = found
        q = sched.quote_media(units, prompt=prompt, at=when)
        return Quote(q.cost_cny, f"{origin}: {q.rule}")

    def for_row(self, ctx: Any, prompt: int, completion: int, cached: int) -> tuple[float | None, float]:
        """(cost, OpenAI's cost) of a finished request for its ledger row, priced with the
        schedule in force when it started (``ctx`` is a :class:`banjia.context.RequestContext`);
        a Batch API line at the schedule's batch multiplier (as ``banjia cost --batch``).
        A pricing bug costs the row its price, never the row."""
        try:
            media = getattr(ctx, "media", None)
            if media is not None:  # images, speech, transcription, rerank (banjia.media)
                mq = self.quote_media(provider=ctx.provider, provider_type=ctx.provider_type,
                                      model=ctx.upstream_model, units=media, prompt=prompt,
                                      at=ctx.started_at)
                return mq.cost_cny, 0.0  # the catalog has no OpenAI media prices to compare with
            when = to_datetime(ctx.started_at)
            openai = self.openai_cost(ctx.model or "", ctx.endpoint, prompt, completion,
                                      cached=cached, at=when)
            found = self._find(ctx.provider, ctx.provider_type, ctx.upstream_model, when)
            if found is None:
                return None, openai
            # the number of :meth:`quote`, without the text of its rule
            cost = found[0].cost(prompt, completion, cached=cached,
                                 cache_write=cache_writes(ctx.usage), at=when,
                                 batch=bool(getattr(ctx, "batch", False)))
        except Exception:
            log.exception("pricing failed for %s/%s", ctx.provider, ctx.upstream_model)
            return None, 0.0
        return cost, openai


def cache_writes(usage: Mapping[str, Any] | None) -> int:
    """Prompt tokens an upstream reports as written to its cache (DashScope's explicit cache, the
    Anthropic-style field); 0 when it reports none."""
    if not usage:
        return 0
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    for source in (details if isinstance(details, Mapping) else {}, usage):
        n = source.get("cache_creation_input_tokens")
        if isinstance(n, int) and not isinstance(n, bool) and n > 0:
            return n
    return 0


CATALOG_PRICES = Pricer()  # no config overrides: the catalog alone
