"""The pool's size: the demand behind its target, the target (cached in Redis), the node's
measured refill pace, and the Retry-After of a client an empty pool refuses. The arithmetic
is ``wallets.pool_sizing``; this module feeds it database rows and Redis."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncMinute
from django.utils import timezone

from exchange.redis import get_redis
from wallets import pool_sizing
from wallets.models import AccountPurpose, AccountState, MasterWallet, WalletAccount
from wallets.services.master_wallets import master_wallet_ensure

logger = logging.getLogger(__name__)


def pooled_count(*, chain: str) -> int:
    return WalletAccount.objects.filter(chain=chain, state=AccountState.POOLED).count()


# A computed target is reused this long (Redis) before it is computed again.
TARGET_CACHE_SECONDS = 60
# Weight of the newest batch in the measured refill pace (an exponential moving average).
PACE_WEIGHT = 0.3


def _target_key(chain: str) -> str:
    return f"pool:target:{chain}"


def _pace_key(chain: str) -> str:
    return f"pool:pace:{chain}"


def demand_per_minute(*, chain: str) -> dict[int, int]:
    """Deposit accounts handed out per minute (minutes since the epoch) over the last
    POOL_DEMAND_LOOKBACK_HOURS: one grouped query on the (chain, assigned_at) index, at
    most one row a minute."""
    since = timezone.now() - timedelta(hours=settings.POOL_DEMAND_LOOKBACK_HOURS)
    rows = (
        WalletAccount.objects.filter(
            chain=chain, assigned_at__gte=since, purpose=AccountPurpose.DEPOSIT
        )
        .annotate(minute=TruncMinute("assigned_at"))
        .values("minute")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {int(row["minute"].timestamp()) // 60: row["n"] for row in rows}


def _wallet_room(chain: str) -> int:
    """Accounts the chain's active master wallets can still take."""
    master_wallet_ensure(chain=chain)
    wallets = MasterWallet.objects.filter(chain=chain, is_active=True).annotate(n=Count("accounts"))
    return sum(max(0, w.capacity - w.n) for w in wallets)


def pool_target_compute(*, chain: str) -> dict[str, int]:
    """The chain's demand peak and the pool target it gives (``wallets.pool_sizing``),
    cached in Redis for TARGET_CACHE_SECONDS. No node call."""
    peak = pool_sizing.demand_peak(
        demand_per_minute(chain=chain), window_minutes=settings.POOL_DEMAND_WINDOW_MINUTES
    )
    target = pool_sizing.pool_target(
        peak=peak,
        factor=settings.POOL_DEMAND_FACTOR,
        floor=settings.POOL_MIN,
        ceiling=settings.POOL_MAX,
        room=pooled_count(chain=chain) + _wallet_room(chain),
    )
    try:
        get_redis().set(_target_key(chain), f"{target} {peak}", ex=TARGET_CACHE_SECONDS)
    except redis.RedisError:
        logger.warning("pool: Redis unavailable, the %s target is not cached", chain)
    return {"target": target, "peak": peak}


def target_cached(chain: str) -> int | None:
    try:
        raw = get_redis().get(_target_key(chain))
    except redis.RedisError:
        return None
    return int(raw.split()[0]) if raw else None


def pool_target(*, chain: str, fresh: bool = False) -> int:
    """The number of pooled accounts the refill keeps the chain at: the cached target,
    or (``fresh``, or none cached) one computed now."""
    cached = None if fresh else target_cached(chain)
    return cached if cached is not None else pool_target_compute(chain=chain)["target"]


def pace_record(chain: str, made: int, seconds: float) -> None:
    """Fold one batch (``made`` accounts in ``seconds`` of node time) into the measured
    pace, accounts a minute."""
    if made < 1 or seconds <= 0:
        return
    pace = made * 60.0 / seconds
    try:
        r = get_redis()
        before = r.get(_pace_key(chain))
        if before:
            pace = PACE_WEIGHT * pace + (1 - PACE_WEIGHT) * float(before)
        r.set(_pace_key(chain), f"{pace:.1f}", ex=86400)
    except redis.RedisError:
        pass


def refill_pace_measured(*, chain: str) -> float | None:
    """The node's measured account-creation pace, accounts a minute (None: not measured)."""
    try:
        raw = get_redis().get(_pace_key(chain))
    except redis.RedisError:
        return None
    return float(raw) if raw else None


def refill_rate(*, chain: str) -> float | None:
    """Accounts a minute the automatic refill makes: POOL_REFILL_PER_MINUTE, or the node's
    measured pace if slower."""
    return pool_sizing.refill_rate_per_minute(
        limit=settings.POOL_REFILL_PER_MINUTE[chain], measured=refill_pace_measured(chain=chain)
    )


def pool_plan(*, chain: str) -> dict[str, int | float | None]:
    """What ``pool_status`` shows beside the counts: the target, the demand peak behind it,
    the floor and ceiling, and the refill rate (configured limit, measured pace, in effect)."""
    computed = pool_target_compute(chain=chain)
    measured = refill_pace_measured(chain=chain)
    return {
        "target": computed["target"],
        "demand_peak": computed["peak"],
        "floor": settings.POOL_MIN,
        "ceiling": settings.POOL_MAX,
        "refill_limit_per_minute": settings.POOL_REFILL_PER_MINUTE[chain],
        "refill_measured_per_minute": round(measured) if measured else None,
        "refill_per_minute": round(rate) if (rate := refill_rate(chain=chain)) else None,
    }


def refused_retry_after(chain: str) -> int:
    """Retry-After for a client an empty pool refuses: its place among the clients refused
    since the pool ran dry, over the refill rate (``pool_sizing.retry_after_seconds``).
    Redis only (no database, no node); without Redis, POOL_EMPTY_RETRY_AFTER_SECONDS."""
    longest = settings.POOL_EMPTY_RETRY_AFTER_SECONDS
    since_key, count_key = f"pool:dry-since:{chain}", f"pool:refused:{chain}"
    try:
        r = get_redis()
        now = time.time()
        pipe = r.pipeline()
        pipe.set(since_key, f"{now:.3f}", nx=True, ex=longest + 5)
        pipe.incr(count_key)
        pipe.get(since_key)
        pipe.get(_pace_key(chain))
        _, position, since, pace = pipe.execute()
        rate = pool_sizing.refill_rate_per_minute(
            limit=settings.POOL_REFILL_PER_MINUTE[chain], measured=float(pace) if pace else None
        )
        retry = pool_sizing.retry_after_seconds(
            position=int(position),
            waited_seconds=now - float(since or now),
            per_minute=rate,
            longest=longest,
        )
        # The count lives until the latest client it placed is due back.
        pipe = r.pipeline()
        pipe.expire(since_key, retry + 5)
        pipe.expire(count_key, retry + 5)
        pipe.execute()
    except (redis.RedisError, ValueError):
        return longest
    return retry
