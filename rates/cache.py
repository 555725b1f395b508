"""The agreed rates, cached per pair in this process's memory and in Redis.

A cache the database rebuilds: a Redis failure is logged, never raised. XMR/BTC lives
under ``rates:current`` (its key from before pairs existed), every other pair under
``rates:current:BASE/QUOTE``; each key expires when its rate becomes too old to use.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

import redis
from django.conf import settings
from django.utils import timezone

from exchange.redis import get_redis
from rates.models import RateSnapshot
from rates.pairs import PAIR_XMR_BTC, rates_pairs

logger = logging.getLogger(__name__)

CACHE_KEY = "rates:current"


def cache_key(pair: str) -> str:
    """The Redis key of ``pair``'s agreed rate."""
    return CACHE_KEY if pair == PAIR_XMR_BTC else f"{CACHE_KEY}:{pair}"


@dataclass(frozen=True)
class CachedRate:
    """An agreed rate as the caches hold it."""

    rate: Decimal
    fetched_at: datetime
    sources: tuple[str, ...]
    snapshot_id: int
    pair: str = PAIR_XMR_BTC

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
            pair=snapshot.pair,
        )


_memory: dict[str, CachedRate] = {}
_memory_lock = threading.Lock()


def rate_cache_store(entry: CachedRate, *, memory_only: bool = False) -> None:
    """Cache an agreed rate in memory (unless a newer one of its pair is there) and, unless
    ``memory_only``, in Redis.

    The Redis key expires when the rate becomes too old to use. A Redis failure is logged.
    """
    with _memory_lock:
        held = _memory.get(entry.pair)
        if held is None or entry.fetched_at >= held.fetched_at:
            _memory[entry.pair] = entry
    if memory_only:
        return
    age = (timezone.now() - entry.fetched_at).total_seconds()
    ttl = int(settings.RATES_MAX_AGE_SECONDS - age)
    if ttl <= 0:
        return
    blob = json.dumps(
        {
            "pair": entry.pair,
            "rate": str(entry.rate),
            "fetched_at": entry.fetched_at.isoformat(),
            "sources": list(entry.sources),
            "snapshot_id": entry.snapshot_id,
        }
    )
    key = cache_key(entry.pair)
    try:
        get_redis().set(key, blob, ex=ttl)
    except redis.RedisError as exc:
        logger.warning("rates: cannot write %s to Redis: %s", key, exc)


def rate_cache_memory(pair: str = PAIR_XMR_BTC) -> CachedRate | None:
    """The agreed rate of ``pair`` this process last cached, if any (however old)."""
    with _memory_lock:
        return _memory.get(pair)


def rate_cache_redis(pair: str = PAIR_XMR_BTC) -> CachedRate | None:
    """The agreed rate of ``pair`` cached in Redis, if any; a Redis failure or a bad entry
    gives None."""
    key = cache_key(pair)
    try:
        blob = get_redis().get(key)
    except redis.RedisError as exc:
        logger.warning("rates: cannot read %s from Redis: %s", key, exc)
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
            pair=str(data.get("pair", PAIR_XMR_BTC)),
        )
    except (ValueError, KeyError, TypeError, AttributeError, InvalidOperation) as exc:
        logger.warning("rates: ignoring a malformed %s in Redis: %s", key, exc)
        return None
    if (
        entry.pair != pair
        or not entry.rate.is_finite()
        or entry.rate <= 0
        or timezone.is_naive(entry.fetched_at)
    ):
        logger.warning("rates: ignoring a malformed %s in Redis: %r", key, blob)
        return None
    return entry


def rate_cache_clear(*, memory_only: bool = False) -> None:
    """Forget every pair's cached rate in this process and in Redis (the database keeps
    them)."""
    with _memory_lock:
        pairs = {*_memory, *rates_pairs()}
        _memory.clear()
    if memory_only:
        return
    keys = sorted(cache_key(pair) for pair in pairs)
    try:
        get_redis().delete(*keys)
    except redis.RedisError as exc:
        logger.warning("rates: cannot delete %s from Redis: %s", ", ".join(keys), exc)
