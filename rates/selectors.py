"""Reading the rates. Fails closed: a rate older than RATES_MAX_AGE_SECONDS is never
returned; the caller gets ``RateUnavailable`` (HTTP 503) and a refresh is requested.

``rate_current(pair)`` reads one pair (XMR/BTC, the pair swaps trade, without an
argument); a pair the engine stores the other way round is inverted (``BTC/XMR`` from
``XMR/BTC``). ``rates_current()`` reads every refreshed pair. ``rate_convert`` prices an
amount of a fiat currency or coin in base units of a coin, rounded up, with the rate and
snapshot it used, for a caller that locks the rate (an invoice, for its life).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from django.conf import settings
from django.utils import timezone

from exchange.errors import ApplicationError
from rates.aggregation import RATE_DIGITS, RATE_QUANTUM
from rates.cache import CachedRate, rate_cache_memory, rate_cache_redis, rate_cache_store
from rates.conversion import amount_decimal, base_units_due
from rates.errors import RateUnavailable, UnknownPair
from rates.models import RateSnapshot
from rates.pairs import (
    PAIR_XMR_BTC,
    coin_codes,
    fiat_currencies,
    pair_split,
    pair_stored,
    rates_pairs,
)
from rates.services import rates_refresh_request
from wallets.chains import registry

# A cached rate stamped further in the future than this is not trusted (clock skew).
MAX_CLOCK_SKEW_SECONDS = 60


@dataclass(frozen=True)
class CurrentRate:
    """The agreed price of 1 BASE in QUOTE of ``pair``, how old it is and where it came
    from (``snapshot_id``: the snapshot of the pair as stored, also for an inverted one)."""

    rate: Decimal
    fetched_at: datetime
    age_seconds: float
    sources: tuple[str, ...]
    snapshot_id: int
    pair: str = PAIR_XMR_BTC

    def inverted(self, pair: str) -> CurrentRate:
        """The same rate read the other way round (``pair`` is the inverse), 1 / rate to
        the stored precision, rounded half-even."""
        with localcontext() as context:
            context.prec = RATE_DIGITS + 10
            rate = (1 / self.rate).quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)
        return replace(self, rate=rate, pair=pair)


def _fresh(entry: CachedRate | None, now: datetime) -> CurrentRate | None:
    if entry is None:
        return None
    age = (now - entry.fetched_at).total_seconds()
    if not -MAX_CLOCK_SKEW_SECONDS <= age <= settings.RATES_MAX_AGE_SECONDS:
        return None
    return CurrentRate(
        rate=entry.rate,
        fetched_at=entry.fetched_at,
        age_seconds=max(0.0, age),
        sources=entry.sources,
        snapshot_id=entry.snapshot_id,
        pair=entry.pair,
    )


def _stored_current(pair: str) -> CurrentRate:
    now = timezone.now()
    current = _fresh(rate_cache_memory(pair), now)
    if current is not None:
        return current
    entry = rate_cache_redis(pair)
    current = _fresh(entry, now)
    if entry is not None and current is not None:
        rate_cache_store(entry, memory_only=True)
        return current
    agreed = RateSnapshot.objects.filter(pair=pair, ok=True).order_by("-created_at", "-id")
    snapshot = agreed.first()
    if snapshot is not None:
        entry = CachedRate.from_snapshot(snapshot)
        current = _fresh(entry, now)
        if current is not None:
            rate_cache_store(entry)
            return current
    requested = rates_refresh_request()
    raise _unavailable(pair=pair, agreed=snapshot, now=now, refresh_requested=requested)


# A stored snapshot never changes: what its providers answered is kept in this process's
# memory once read, by its id and time (a rate's ``fetched_at``), the newest few hundred.
_SOURCES: dict[tuple[int, datetime], dict] = {}
SOURCES_KEPT = 256
_SOURCES_LOCK = threading.Lock()


def snapshot_sources(*currents: CurrentRate) -> dict[int, dict]:
    """What the providers answered for each rate's snapshot (``RateSnapshot.sources``),
    by snapshot id: from the database only the first time this process asks."""
    keys = {(c.snapshot_id, c.fetched_at) for c in currents}
    with _SOURCES_LOCK:  # a web process's threads share the memory
        found = {
            snapshot_id: _SOURCES[(snapshot_id, at)] for snapshot_id, at in keys & _SOURCES.keys()
        }
    missing = {snapshot_id for snapshot_id, _ in keys} - found.keys()
    if missing:
        rows = list(RateSnapshot.objects.filter(id__in=missing).only("id", "created_at", "sources"))
        with _SOURCES_LOCK:
            for row in rows:
                found[row.id] = _SOURCES[(row.id, row.created_at)] = row.sources or {}
            while len(_SOURCES) > SOURCES_KEPT:
                del _SOURCES[next(iter(_SOURCES))]
    return found


def rate_current(pair: str = PAIR_XMR_BTC) -> CurrentRate:
    """The newest agreed rate of ``pair`` (XMR/BTC by default) no older than
    RATES_MAX_AGE_SECONDS.

    Looks in this process's memory, then Redis, then the newest agreed snapshot of the
    pair in the database (writing what it finds back to the caches). With no fresh rate
    anywhere it requests an on-demand refresh and raises ``RateUnavailable``. A pair the
    engine does not refresh either way round raises ``UnknownPair``.
    """
    stored, inverted = pair_stored(pair)
    current = _stored_current(stored)
    return current.inverted(pair_split(pair).name) if inverted else current


def rates_current() -> dict[str, CurrentRate | RateUnavailable]:
    """Every refreshed pair's current rate, or the ``RateUnavailable`` it would raise."""
    answers: dict[str, CurrentRate | RateUnavailable] = {}
    for pair in rates_pairs():
        try:
            answers[pair] = _stored_current(pair)
        except RateUnavailable as exc:
            answers[pair] = exc
    return answers


@dataclass(frozen=True)
class Conversion:
    """What an amount priced in ``currency`` costs in ``coin``, and the rate it used.

    ``amount`` is in base units of ``coin``, rounded up. ``rate`` is the price of 1 coin
    in ``currency`` (1 when they are the same); ``pair``, ``snapshot_id`` and
    ``fetched_at`` name the stored rate it came from (empty when no rate was needed).
    A caller that locks the rate keeps ``rate`` and ``snapshot_id``.
    """

    amount: int
    coin: str
    price: Decimal
    currency: str
    rate: Decimal
    pair: str
    snapshot_id: int | None
    fetched_at: datetime | None


def rate_convert(*, price: Decimal | int | str, currency: str, coin: str) -> Conversion:
    """Base units of ``coin`` that pay ``price`` of ``currency`` (a fiat currency of
    RATES_FIAT_CURRENCIES or a coin), at the current rate, rounded up so the merchant
    never receives less than the price. Raises ``RateUnavailable`` without a fresh rate and
    ``ApplicationError`` for an unknown coin or currency or a price that is not positive.
    """
    amount = amount_decimal(price, field="price")
    code, currency = coin.strip().upper(), currency.strip().upper()
    if code not in coin_codes():
        raise ApplicationError(f"{coin!r} is not a coin here", field="coin")
    if currency not in (*coin_codes(), *fiat_currencies()):
        raise ApplicationError(
            f"{currency!r} is not priced here (RATES_FIAT_CURRENCIES or a coin)", field="currency"
        )
    decimals = registry.coin(code).decimals
    if currency == code:
        units = base_units_due(amount=amount, price=Decimal(1), decimals=decimals)
        return Conversion(units, code, amount, currency, Decimal(1), "", None, None)
    try:
        stored, inverted = pair_stored(f"{code}/{currency}")
    except UnknownPair as exc:
        raise ApplicationError(exc.message, field="currency")
    current = _stored_current(stored)
    units = base_units_due(amount=amount, price=current.rate, decimals=decimals, inverted=inverted)
    rate = current.inverted(f"{code}/{currency}").rate if inverted else current.rate
    return Conversion(
        units, code, amount, currency, rate, stored, current.snapshot_id, current.fetched_at
    )


def _unavailable(
    *, pair: str, agreed: RateSnapshot | None, now: datetime, refresh_requested: bool
) -> RateUnavailable:
    max_age = settings.RATES_MAX_AGE_SECONDS
    latest = RateSnapshot.objects.filter(pair=pair).order_by("-created_at", "-id").first()
    reasons = []
    if agreed is None:
        reasons.append("no provider quorum has been reached yet")
    else:
        age = round((now - agreed.created_at).total_seconds())
        reasons.append(f"the newest agreed rate is {age} s old (max {max_age} s)")
    if latest is not None and not latest.ok:
        error = latest.error if len(latest.error) <= 300 else f"{latest.error[:300]}…"
        reasons.append(
            f"the last refresh at {latest.created_at:%Y-%m-%d %H:%M:%S} UTC failed: {error}"
        )
    elif latest is None:
        reasons.append("no refresh has run yet")
    reasons.append("a refresh was requested" if refresh_requested else "a refresh is pending")
    return RateUnavailable(
        f"no fresh {pair} rate: {'; '.join(reasons)}",
        extra={
            "pair": pair,
            "max_age_seconds": max_age,
            "last_agreed_at": agreed.created_at.isoformat() if agreed else None,
            "last_error": latest.error if latest is not None and not latest.ok else None,
        },
    )
