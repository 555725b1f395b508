"""Reading the XMR/BTC rate. Fails closed: a rate older than RATES_MAX_AGE_SECONDS is never
returned; the caller gets ``RateUnavailable`` (HTTP 503) and a refresh is requested."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from rates.errors import RateUnavailable
from rates.models import RateSnapshot
from rates.services import (
    CachedRate,
    rate_cache_memory,
    rate_cache_redis,
    rate_cache_store,
    rates_refresh_request,
)

# A cached rate stamped further in the future than this is not trusted (clock skew).
MAX_CLOCK_SKEW_SECONDS = 60


@dataclass(frozen=True)
class CurrentRate:
    """The agreed price of 1 XMR in BTC, how old it is and where it came from."""

    rate: Decimal
    fetched_at: datetime
    age_seconds: float
    sources: tuple[str, ...]
    snapshot_id: int


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
    )


def rate_current() -> CurrentRate:
    """The newest agreed XMR/BTC rate no older than RATES_MAX_AGE_SECONDS.

    Looks in this process's memory, then Redis, then the newest agreed snapshot in the
    database (writing what it finds back to the caches). With no fresh rate anywhere it
    requests an on-demand refresh and raises ``RateUnavailable``.
    """
    now = timezone.now()
    current = _fresh(rate_cache_memory(), now)
    if current is not None:
        return current
    entry = rate_cache_redis()
    current = _fresh(entry, now)
    if entry is not None and current is not None:
        rate_cache_store(entry, memory_only=True)
        return current
    snapshot = RateSnapshot.objects.filter(ok=True).order_by("-created_at", "-id").first()
    if snapshot is not None:
        entry = CachedRate.from_snapshot(snapshot)
        current = _fresh(entry, now)
        if current is not None:
            rate_cache_store(entry)
            return current
    requested = rates_refresh_request()
    raise _unavailable(agreed=snapshot, now=now, refresh_requested=requested)


def _unavailable(
    *, agreed: RateSnapshot | None, now: datetime, refresh_requested: bool
) -> RateUnavailable:
    max_age = settings.RATES_MAX_AGE_SECONDS
    latest = RateSnapshot.objects.order_by("-created_at", "-id").first()
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
        f"no fresh XMR/BTC rate: {'; '.join(reasons)}",
        extra={
            "max_age_seconds": max_age,
            "last_agreed_at": agreed.created_at.isoformat() if agreed else None,
            "last_error": latest.error if latest is not None and not latest.ok else None,
        },
    )
