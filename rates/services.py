"""Refreshing the XMR/BTC rate: ask every provider at once, agree on one value, record it.

A refresh asks every configured provider in parallel and waits at most
RATES_PROVIDER_TIMEOUT for them; a provider that has not answered by then is recorded as
unavailable and left behind (its thread ends on its own socket timeout). The answers are
aggregated: the median of the values, without the ones further than
RATES_MAX_DEVIATION_PERCENT from it, if at least the quorum of providers agree. Every
refresh is stored as a ``RateSnapshot``; an agreed one is also cached, after commit, in
this process's memory and in Redis under ``rates:current`` (a cache the database
rebuilds: a Redis failure is logged, never raised).
"""

from __future__ import annotations

import concurrent.futures
import functools
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

import redis
from celery import current_app
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from exchange.dispatch import enqueue
from exchange.redis import get_redis
from rates.models import RateSnapshot
from rates.providers.base import Provider, ProviderError, configured_providers

logger = logging.getLogger(__name__)

CACHE_KEY = "rates:current"
REFRESH_REQUEST_KEY = "rates:refresh-requested"
REFRESH_REQUEST_TTL_SECONDS = 30
BROKER_TIMEOUT_SECONDS = 1
_BROKER_OPTIONS = {
    "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
    "socket_timeout": BROKER_TIMEOUT_SECONDS,
    "max_retries": 0,
}
# The stored precision of a rate (RateSnapshot.rate has 18 decimal places).
RATE_QUANTUM = Decimal("1e-18")


@dataclass(frozen=True)
class SourceResult:
    """One provider's answer to one refresh: a value, or the error it gave."""

    provider: str
    value: Decimal | None
    error: str | None
    latency_ms: int


@dataclass(frozen=True)
class Aggregate:
    """What the answers of one refresh add up to."""

    rate: Decimal | None
    ok: bool
    error: str
    sources: dict[str, dict]


@dataclass(frozen=True)
class CachedRate:
    """An agreed rate as the caches hold it."""

    rate: Decimal
    fetched_at: datetime
    sources: tuple[str, ...]
    snapshot_id: int

    @classmethod
    def from_snapshot(cls, snapshot: RateSnapshot) -> CachedRate:
        """The cache entry of an agreed snapshot."""
        if not snapshot.ok or snapshot.rate is None:
            raise ValueError(f"rate snapshot {snapshot.id} has no agreed rate")
        used = tuple(name for name, entry in snapshot.sources.items() if entry.get("used"))
        return cls(
            rate=Decimal(snapshot.rate),
            fetched_at=snapshot.created_at,
            sources=used,
            snapshot_id=snapshot.id,
        )


# --- settings ---------------------------------------------------------------------


def effective_quorum(configured: int) -> int:
    """RATES_QUORUM, lowered to the number of configured providers (and at least 1)."""
    return max(1, min(int(settings.RATES_QUORUM), configured))


def max_deviation_percent() -> Decimal:
    """RATES_MAX_DEVIATION_PERCENT as a Decimal; a bad value raises ImproperlyConfigured."""
    raw = settings.RATES_MAX_DEVIATION_PERCENT
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        raise ImproperlyConfigured(
            f"RATES_MAX_DEVIATION_PERCENT must be a non-negative decimal, not {raw!r}"
        )
    return value


# --- fetch and aggregate ----------------------------------------------------------


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _fetch_one(provider: Provider) -> SourceResult:
    started = time.monotonic()
    try:
        value = provider.fetch()
        if not isinstance(value, Decimal):
            raise TypeError(f"{provider!r}.fetch() returned {type(value).__name__}, not Decimal")
    except ProviderError as exc:
        logger.warning("rates: %s: %s: %s", provider.name, exc.kind, exc.message)
        return SourceResult(provider.name, None, f"{exc.kind}: {exc.message}", _elapsed_ms(started))
    except Exception as exc:  # noqa: BLE001 - one broken adapter must not stop the others
        logger.exception("rates: %s failed unexpectedly", provider.name)
        return SourceResult(
            provider.name, None, f"unexpected {exc.__class__.__name__}: {exc}", _elapsed_ms(started)
        )
    return SourceResult(provider.name, value, None, _elapsed_ms(started))


def rates_fetch(*, providers: Sequence[Provider], timeout: float) -> list[SourceResult]:
    """Ask every provider at once; return within ``timeout`` seconds, whatever happens.

    A provider still running at the deadline is recorded as unavailable and abandoned:
    nothing waits on its thread, which ends by its own socket timeout.
    """
    executor = concurrent.futures.ThreadPoolExecutor(
        max_workers=max(1, len(providers)), thread_name_prefix="rates-fetch"
    )
    started = time.monotonic()
    try:
        futures = [executor.submit(_fetch_one, provider) for provider in providers]
        concurrent.futures.wait(futures, timeout=timeout)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    results = []
    for provider, future in zip(providers, futures, strict=True):
        if future.done() and not future.cancelled():
            results.append(future.result())
        else:
            logger.warning("rates: %s gave no answer within %g s", provider.name, timeout)
            results.append(
                SourceResult(
                    provider.name,
                    None,
                    f"unavailable: no answer within {timeout:g} s",
                    _elapsed_ms(started),
                )
            )
    return results


def _median(values: Sequence[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _problems(sources: dict[str, dict]) -> str:
    parts = []
    for name, entry in sources.items():
        if entry["error"]:
            parts.append(f"{name}: {entry['error']}")
        elif entry["dropped_reason"]:
            parts.append(f"{name}: dropped, {entry['dropped_reason']}")
    return "; ".join(parts)


def rates_aggregate(
    results: Sequence[SourceResult], *, max_deviation: Decimal, quorum: int
) -> Aggregate:
    """The median of the answers, without outliers, if at least ``quorum`` of them agree.

    Outliers are values more than ``max_deviation`` percent from the median of all
    answers; the rate is the median of the values kept, rounded to 18 decimal places.
    """
    sources: dict[str, dict] = {
        r.provider: {
            "value": None if r.value is None else str(r.value),
            "error": r.error,
            "latency_ms": r.latency_ms,
            "used": False,
            "dropped_reason": None,
        }
        for r in results
    }
    answered = [(r.provider, r.value) for r in results if r.value is not None]
    if not answered:
        return Aggregate(None, False, f"no provider answered: {_problems(sources)}", sources)
    center = _median([value for _, value in answered])
    kept = []
    for name, value in answered:
        deviation = abs(value - center) / center * 100
        if deviation > max_deviation:
            sources[name]["dropped_reason"] = (
                f"{deviation:.2f}% from the median {center} (max {max_deviation}%)"
            )
        else:
            kept.append((name, value))
    if len(kept) < quorum:
        return Aggregate(
            None,
            False,
            f"quorum not met: {len(kept)} of {quorum} required sources agree; {_problems(sources)}",
            sources,
        )
    for name, _ in kept:
        sources[name]["used"] = True
    rate = _median([value for _, value in kept]).quantize(RATE_QUANTUM)
    return Aggregate(rate, True, "", sources)


def rates_refresh() -> RateSnapshot:
    """Fetch every configured provider, aggregate, store a snapshot; cache it if agreed.

    Finishes within RATES_PROVIDER_TIMEOUT (plus a database write) even if a provider
    hangs. Safe to run twice: each run stores its own snapshot and the newest agreed one
    wins the cache. A bad RATES_* setting raises ImproperlyConfigured.
    """
    providers = configured_providers()
    quorum = effective_quorum(len(providers))
    max_deviation = max_deviation_percent()
    started_at = timezone.now()
    results = rates_fetch(providers=providers, timeout=float(settings.RATES_PROVIDER_TIMEOUT))
    aggregate = rates_aggregate(results, max_deviation=max_deviation, quorum=quorum)
    snapshot = RateSnapshot.objects.create(
        created_at=started_at,
        rate=aggregate.rate,
        sources=aggregate.sources,
        ok=aggregate.ok,
        error=aggregate.error,
    )
    if snapshot.ok:
        logger.info(
            "rates: XMR/BTC %s from %d source(s) (snapshot %s)",
            snapshot.rate,
            snapshot.sources_used,
            snapshot.id,
        )
        transaction.on_commit(
            functools.partial(rate_cache_store, CachedRate.from_snapshot(snapshot))
        )
    else:
        logger.warning("rates: refresh failed (snapshot %s): %s", snapshot.id, snapshot.error)
    return snapshot


# --- cache: process memory and Redis ----------------------------------------------

_memory: CachedRate | None = None
_memory_lock = threading.Lock()


def rate_cache_store(entry: CachedRate, *, memory_only: bool = False) -> None:
    """Cache an agreed rate in memory (unless a newer one is there) and, unless
    ``memory_only``, in Redis.

    The Redis key expires when the rate becomes too old to use. A Redis failure is logged.
    """
    global _memory
    with _memory_lock:
        if _memory is None or entry.fetched_at >= _memory.fetched_at:
            _memory = entry
    if memory_only:
        return
    age = (timezone.now() - entry.fetched_at).total_seconds()
    ttl = int(settings.RATES_MAX_AGE_SECONDS - age)
    if ttl <= 0:
        return
    blob = json.dumps(
        {
            "rate": str(entry.rate),
            "fetched_at": entry.fetched_at.isoformat(),
            "sources": list(entry.sources),
            "snapshot_id": entry.snapshot_id,
        }
    )
    try:
        get_redis().set(CACHE_KEY, blob, ex=ttl)
    except redis.RedisError as exc:
        logger.warning("rates: cannot write %s to Redis: %s", CACHE_KEY, exc)


def rate_cache_memory() -> CachedRate | None:
    """The agreed rate this process last cached, if any (however old)."""
    with _memory_lock:
        return _memory


def rate_cache_redis() -> CachedRate | None:
    """The agreed rate cached in Redis, if any; a Redis failure or a bad entry gives None."""
    try:
        blob = get_redis().get(CACHE_KEY)
    except redis.RedisError as exc:
        logger.warning("rates: cannot read %s from Redis: %s", CACHE_KEY, exc)
        return None
    if not blob:
        return None
    try:
        data = json.loads(blob)
        entry = CachedRate(
            rate=Decimal(data["rate"]),
            fetched_at=datetime.fromisoformat(data["fetched_at"]),
            sources=tuple(str(name) for name in data["sources"]),
            snapshot_id=int(data["snapshot_id"]),
        )
    except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
        logger.warning("rates: ignoring a malformed %s in Redis: %s", CACHE_KEY, exc)
        return None
    if not entry.rate.is_finite() or entry.rate <= 0 or timezone.is_naive(entry.fetched_at):
        logger.warning("rates: ignoring a malformed %s in Redis: %r", CACHE_KEY, blob)
        return None
    return entry


def rate_cache_clear(*, memory_only: bool = False) -> None:
    """Forget the cached rate in this process and in Redis (the database keeps it)."""
    global _memory
    with _memory_lock:
        _memory = None
    if memory_only:
        return
    try:
        get_redis().delete(CACHE_KEY)
    except redis.RedisError as exc:
        logger.warning("rates: cannot delete %s from Redis: %s", CACHE_KEY, exc)


# --- on-demand refresh ------------------------------------------------------------

_local_request_at: float | None = None
_local_request_lock = threading.Lock()


def _local_request_allowed() -> bool:
    """Per-process deduplication, used only while Redis cannot deduplicate."""
    global _local_request_at
    now = time.monotonic()
    with _local_request_lock:
        if _local_request_at is not None and now - _local_request_at < REFRESH_REQUEST_TTL_SECONDS:
            return False
        _local_request_at = now
        return True


def rates_refresh_request() -> bool:
    """Enqueue a refresh now, at most once per 30 s across processes; never raises.

    It is enqueued at once, not on commit: it depends on no row of the caller's
    transaction, and the caller is usually about to fail (and roll back) for want of a
    rate. It uses its own broker connection with a 1 s bound and no retries, because the
    shared producer retries a dead broker for seconds and this runs inside a request.
    Returns whether a refresh was enqueued.
    """
    try:
        first = get_redis().set(
            REFRESH_REQUEST_KEY, timezone.now().isoformat(), nx=True, ex=REFRESH_REQUEST_TTL_SECONDS
        )
    except redis.RedisError as exc:
        logger.warning("rates: Redis cannot deduplicate refresh requests: %s", exc)
        first = _local_request_allowed()
    if not first:
        return False
    try:
        with current_app.connection_for_write(
            connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=_BROKER_OPTIONS
        ) as connection:
            connection.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
            enqueue("rates.refresh", retry=False, connection=connection)
    except Exception:  # noqa: BLE001 - a broker outage must not fail the caller
        logger.exception("rates: cannot enqueue an on-demand refresh")
        return False
    return True
