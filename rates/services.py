"""Refreshing the rates of every pair: ask every provider at once, agree per pair, record.

A refresh asks every configured provider for the pairs it quotes of ``rates_pairs()``, in
as few HTTP calls as its API allows (one for most), all calls in parallel, and waits at
most RATES_PROVIDER_TIMEOUT for them; a call that has not answered by then is recorded as
unavailable for its pairs and left behind (its thread ends on its own socket timeout).
Each pair's answers are aggregated on their own (``rates.aggregation``: median, outliers,
quorum) and stored as one ``RateSnapshot`` per pair; an agreed one is also cached, after
commit, in this process's memory and in Redis (``rates.cache``). One pair's failure never
stops another's.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import redis
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from exchange.dispatch import enqueue
from exchange.redis import get_redis
from rates.aggregation import (
    SourceResult,
    effective_quorum,
    max_deviation_percent,
    rates_aggregate,
)
from rates.cache import CachedRate, rate_cache_store
from rates.models import RateSnapshot
from rates.pairs import PAIR_XMR_BTC, rates_pairs
from rates.providers.base import PairPrices, Provider, ProviderError, configured_providers

logger = logging.getLogger(__name__)

REFRESH_REQUEST_KEY = "rates:refresh-requested"
REFRESH_REQUEST_TTL_SECONDS = 30
BROKER_TIMEOUT_SECONDS = 1
_BROKER_OPTIONS = {
    "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
    "socket_timeout": BROKER_TIMEOUT_SECONDS,
    "max_retries": 0,
}

Batch = tuple[Provider, tuple[str, ...]]


# --- fetch --------------------------------------------------------------------------


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _answer(provider: Provider, pair: str, answers: PairPrices, latency: int) -> SourceResult:
    value = answers.get(pair)
    if isinstance(value, ProviderError):
        logger.warning("rates: %s: %s: %s: %s", provider.name, pair, value.kind, value.message)
        return SourceResult(provider.name, None, f"{value.kind}: {value.message}", latency)
    if not isinstance(value, Decimal):
        what = "no price" if value is None else f"a {type(value).__name__}, not a Decimal"
        logger.error("rates: %s answered %s for %s", provider.name, what, pair)
        return SourceResult(provider.name, None, f"unexpected: {what} for {pair}", latency)
    return SourceResult(provider.name, value, None, latency)


def _fetch_batch(provider: Provider, pairs: tuple[str, ...]) -> dict[str, SourceResult]:
    started = time.monotonic()
    try:
        answers = provider.fetch_pairs(pairs)
    except ProviderError as exc:
        logger.warning("rates: %s: %s: %s", provider.name, exc.kind, exc.message)
        error = f"{exc.kind}: {exc.message}"
        return {
            pair: SourceResult(provider.name, None, error, _elapsed_ms(started)) for pair in pairs
        }
    except Exception as exc:  # noqa: BLE001 - one broken adapter must not stop the others
        logger.exception("rates: %s failed unexpectedly", provider.name)
        error = f"unexpected {exc.__class__.__name__}: {exc}"
        return {
            pair: SourceResult(provider.name, None, error, _elapsed_ms(started)) for pair in pairs
        }
    latency = _elapsed_ms(started)
    return {pair: _answer(provider, pair, answers, latency) for pair in pairs}


def rates_fetch(
    *, providers: Sequence[Provider], pairs: Sequence[str], timeout: float
) -> dict[str, list[SourceResult]]:
    """Ask every provider for the pairs it quotes, all calls at once; return within
    ``timeout`` seconds, whatever happens. Each pair gets one result per provider quoting
    it (none from a provider that does not), in the providers' order.

    A call still running at the deadline is recorded as unavailable for its pairs and
    abandoned: nothing waits on its thread, which ends by its own socket timeout.
    """
    batches: list[Batch] = [
        (provider, batch)
        for provider in providers
        for batch in provider.batches(provider.quoted(pairs))
    ]
    results: dict[str, list[SourceResult]] = {pair: [] for pair in pairs}
    if not batches:
        return results
    executor = concurrent.futures.ThreadPoolExecutor(
        max_workers=len(batches), thread_name_prefix="rates-fetch"
    )
    started = time.monotonic()
    try:
        futures = [executor.submit(_fetch_batch, provider, batch) for provider, batch in batches]
        concurrent.futures.wait(futures, timeout=timeout)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    for (provider, batch), future in zip(batches, futures, strict=True):
        if future.done() and not future.cancelled():
            answered = future.result()
        else:
            logger.warning("rates: %s gave no answer within %g s", provider.name, timeout)
            error = f"unavailable: no answer within {timeout:g} s"
            latency = _elapsed_ms(started)
            answered = {pair: SourceResult(provider.name, None, error, latency) for pair in batch}
        for pair in batch:
            results[pair].append(answered[pair])
    return results


# --- refresh ------------------------------------------------------------------------


def _store(
    pair: str, results: list[SourceResult], *, started_at: datetime, max_deviation: Decimal
) -> RateSnapshot:
    aggregate = rates_aggregate(
        results, max_deviation=max_deviation, quorum=effective_quorum(len(results))
    )
    with transaction.atomic():
        snapshot = RateSnapshot.objects.create(
            created_at=started_at,
            pair=pair,
            rate=aggregate.rate,
            sources=aggregate.sources,
            ok=aggregate.ok,
            error=aggregate.error,
        )
    if snapshot.ok:
        logger.info(
            "rates: %s %s from %d source(s) (snapshot %s)",
            pair,
            snapshot.rate,
            snapshot.sources_used,
            snapshot.id,
        )
        transaction.on_commit(
            functools.partial(rate_cache_store, CachedRate.from_snapshot(snapshot))
        )
    else:
        logger.warning(
            "rates: %s refresh failed (snapshot %s): %s", pair, snapshot.id, snapshot.error
        )
    return snapshot


def rates_refresh_pairs(*, pairs: Sequence[str] | None = None) -> dict[str, RateSnapshot]:
    """Fetch every configured provider, aggregate per pair, store one snapshot per pair
    (``pairs``, default every pair of ``rates_pairs()``); cache the agreed ones.

    Finishes within RATES_PROVIDER_TIMEOUT (plus the database writes) even if a provider
    hangs. Safe to run twice: each run stores its own snapshots and the newest agreed one
    of a pair wins its cache. A pair whose snapshot cannot be written does not stop the
    others; the first such error is raised once they are all written. A bad RATES_*
    setting raises ImproperlyConfigured.
    """
    providers = configured_providers()
    max_deviation = max_deviation_percent()
    wanted = list(rates_pairs() if pairs is None else pairs)
    started_at = timezone.now()
    fetched = rates_fetch(
        providers=providers, pairs=wanted, timeout=float(settings.RATES_PROVIDER_TIMEOUT)
    )
    snapshots: dict[str, RateSnapshot] = {}
    failure: Exception | None = None
    for pair in wanted:
        try:
            snapshots[pair] = _store(
                pair, fetched[pair], started_at=started_at, max_deviation=max_deviation
            )
        except Exception as exc:  # noqa: BLE001 - one pair must not stop the others
            logger.exception("rates: cannot store the %s snapshot", pair)
            failure = failure or exc
    if failure is not None:
        raise failure
    return snapshots


def rates_refresh() -> RateSnapshot:
    """Refresh every pair (``rates_refresh_pairs``) and return the XMR/BTC snapshot, the
    pair swaps trade."""
    return rates_refresh_pairs()[PAIR_XMR_BTC]


# --- on-demand refresh --------------------------------------------------------------

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
    """Enqueue a refresh of every pair now, at most once per 30 s across processes; never
    raises.

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
