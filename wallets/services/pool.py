"""The pre-created account pool: refilled off the request path, claimed with zero node calls."""

from __future__ import annotations

import functools
import logging
import time
import uuid
from datetime import timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncMinute
from django.utils import timezone

from exchange.dispatch import enqueue
from exchange.errors import ServiceUnavailable
from exchange.redis import get_redis
from wallets import cache, pool_sizing
from wallets.chains import adapter
from wallets.clients.base import RetryLater, UnknownAccount
from wallets.locks import wallet_writer
from wallets.models import (
    ACCOUNT_TRANSITIONS,
    AccountPurpose,
    AccountState,
    Chain,
    MasterWallet,
    OwnerKind,
    Payout,
    PayoutState,
    WalletAccount,
)
from wallets.nodes import default_wallet_settings

logger = logging.getLogger(__name__)


class PoolEmpty(ServiceUnavailable):
    code = "pool_empty"

    def __init__(self, chain: str, *, retry_after: int | None = None):
        retry = retry_after or settings.POOL_EMPTY_RETRY_AFTER_SECONDS
        super().__init__(
            f"no {chain} deposit account is ready; try again in {retry} s",
            headers={"Retry-After": str(retry)},
            extra={"chain": chain, "retry_after": retry},
        )


class WalletFull(Exception):
    """Every active master wallet of the chain has reached its capacity."""


def master_wallet_ensure(*, chain: str) -> MasterWallet:
    """The chain's first master wallet, created from settings on first use. One recorded
    on the same node under another name (an earlier default, bcoin's ``primary``) stays
    the first: a changed default never starts a second, empty wallet beside it."""
    conf = default_wallet_settings(chain)
    earlier = (
        MasterWallet.objects.filter(chain=chain, endpoint=conf["endpoint"])
        .exclude(name=conf["name"])
        .order_by("id")
        .first()
    )
    if (
        earlier is not None
        and not MasterWallet.objects.filter(chain=chain, name=conf["name"]).exists()
    ):
        return earlier
    wallet, _ = MasterWallet.objects.get_or_create(
        chain=chain,
        name=conf["name"],
        defaults={
            "network": conf["network"],
            "endpoint": conf["endpoint"],
            "capacity": settings.MASTER_WALLET_CAPACITY,
        },
    )
    return wallet


def _wallet_for_new_accounts(chain: str) -> MasterWallet:
    master_wallet_ensure(chain=chain)
    for wallet in MasterWallet.objects.filter(chain=chain, is_active=True).order_by("id"):
        if WalletAccount.objects.filter(master_wallet=wallet).count() < wallet.capacity:
            return wallet
    raise WalletFull(f"every active {chain} master wallet is full: add one (README, Scaling out)")


def house_account_ensure(*, wallet: MasterWallet) -> WalletAccount:
    """The liquidity account (index 0) of a master wallet, recorded once. Node call on
    first use only."""
    existing = WalletAccount.objects.filter(
        master_wallet=wallet, purpose=AccountPurpose.LIQUIDITY
    ).first()
    if existing:
        return existing
    index, address = adapter(wallet.chain).house_account(wallet)
    account, _ = WalletAccount.objects.get_or_create(
        master_wallet=wallet,
        purpose=AccountPurpose.LIQUIDITY,
        defaults={
            "chain": wallet.chain,
            "account_index": index,
            "node_name": "default",
            "address": address,
            "state": AccountState.ASSIGNED,
            "owner_kind": OwnerKind.HOUSE,
            "owner_id": wallet.id,
            "assigned_at": timezone.now(),
        },
    )
    return account


def _account_move(account_id: int, to_state: str, *, from_state: str, **fields: Any) -> bool:
    """The one place account states change: checked against ACCOUNT_TRANSITIONS, then
    ``UPDATE … WHERE id = %s AND state = <from_state>``. Returns whether this call moved
    it (False: another one did first)."""
    if to_state not in ACCOUNT_TRANSITIONS[from_state]:
        raise ValueError(f"an account cannot go from {from_state} to {to_state}")
    return bool(
        WalletAccount.objects.filter(id=account_id, state=from_state)
        .exclude(purpose=AccountPurpose.LIQUIDITY)
        .update(state=to_state, **fields)
    )


def pooled_count(*, chain: str) -> int:
    return WalletAccount.objects.filter(chain=chain, state=AccountState.POOLED).count()


class RefillPaused(RetryLater):
    """A paced refill gave the wallet to payouts, or reached its rate: later."""


def _refill_allowance(chain: str) -> int:
    """Accounts a paced refill may still make now: none while a payout of the chain is
    being worked on (it gets the wallet's writer first), and no more than
    POOL_REFILL_PER_MINUTE in any minute."""
    now = timezone.now()
    busy_since = now - timedelta(seconds=settings.POOL_YIELD_TO_PAYOUTS_SECONDS)
    if Payout.objects.filter(
        state__in=(PayoutState.PENDING, PayoutState.SIGNED),
        updated_at__gte=busy_since,
        chain=chain,
    ).exists():
        return 0
    per_minute = settings.POOL_REFILL_PER_MINUTE[chain]
    if not per_minute:
        return 1 << 30
    made = WalletAccount.objects.filter(
        chain=chain, pooled_at__gte=now - timedelta(seconds=60)
    ).count()
    return max(0, per_minute - made)


# --- the pool's size: demand, target, refill pace -----------------------------------------

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


def _target_cached(chain: str) -> int | None:
    try:
        raw = get_redis().get(_target_key(chain))
    except redis.RedisError:
        return None
    return int(raw.split()[0]) if raw else None


def pool_target(*, chain: str, fresh: bool = False) -> int:
    """The number of pooled accounts the refill keeps the chain at: the cached target,
    or (``fresh``, or none cached) one computed now."""
    cached = None if fresh else _target_cached(chain)
    return cached if cached is not None else pool_target_compute(chain=chain)["target"]


def _pace_record(chain: str, made: int, seconds: float) -> None:
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


def _refused_retry_after(chain: str) -> int:
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


def pool_refill(
    *,
    chain: str,
    batch_size: int | None = None,
    target: int | None = None,
    paced: bool = False,
) -> int:
    """Create up to ``batch_size`` accounts on the node while the pool is below ``target``
    (default: ``pool_target``, which follows demand). ``paced`` (the automatic refills) yields to payouts and keeps to
    POOL_REFILL_PER_MINUTE, raising ``RefillPaused`` when it could make none.

    Holds the wallet's writer lock for one small batch only, so payouts and labelling get
    the wallet in between (Monero's create_account takes ~0.4 s and blocks the wallet).
    A row is written (``creating``) before its node call and pooled only after the node
    has the account on disk: a crash in between leaves a ``creating`` row that the next
    refill completes, never a lost account, and never an account the node could forget
    (monero-wallet-rpc keeps new accounts in memory until it saves the wallet file, so a
    killed wallet-rpc would otherwise hand the same index out twice).
    Returns the number of accounts made ready. The time the node took for new accounts
    is the measured pace ``refill_rate`` and Retry-After use.
    """
    batch = batch_size or settings.POOL_BATCH_SIZE
    if target is None:
        target = pool_target(chain=chain)
    if paced:
        batch = min(batch, _refill_allowance(chain))
        if not batch:
            raise RefillPaused(f"pool refill of {chain} waits for payouts or its rate")
    wallet = _wallet_for_new_accounts(chain)
    chain_adapter = adapter(chain)
    with wallet_writer(wallet.id, timeout=60):
        house_account_ensure(wallet=wallet)
        made = _finish_creating(wallet)
        missing = target - pooled_count(chain=chain) - len(made)
        started, leftovers = time.monotonic(), len(made)
        for _ in range(max(0, min(missing, batch - len(made)))):
            if paced and made and not _refill_allowance(chain):
                break
            account = WalletAccount.objects.create(
                master_wallet=wallet,
                chain=chain,
                node_name=f"pool-{uuid.uuid4().hex[:16]}",
                state=AccountState.CREATING,
            )
            made.append((account, *chain_adapter.account_create(wallet, account.node_name)))
        if made:
            chain_adapter.accounts_saved(wallet)
        _pace_record(chain, len(made) - leftovers, time.monotonic() - started)
        now = timezone.now()
        for account, index, address in made:
            _account_move(
                account.id,
                AccountState.POOLED,
                from_state=AccountState.CREATING,
                account_index=index,
                address=address,
                pooled_at=now,
            )
    return len(made)


def _finish_creating(wallet: MasterWallet) -> list[tuple[WalletAccount, int, str]]:
    """Complete the rows an interrupted refill left ``creating``."""
    leftovers = list(
        WalletAccount.objects.filter(master_wallet=wallet, state=AccountState.CREATING)
    )
    if not leftovers:
        return []
    chain_adapter = adapter(wallet.chain)
    by_name = chain_adapter.accounts_named(wallet)
    done = []
    for account in leftovers:
        found = by_name.get(account.node_name)
        if found is None:
            found = chain_adapter.account_create(wallet, account.node_name)
        done.append((account, *found))
    return done


def pool_refill_request(*, chain: str) -> None:
    """Ask for a refill (deduplicated for 30 s); never raises."""
    try:
        if not get_redis().set(f"pool:refill-requested:{chain}", 1, nx=True, ex=30):
            return
    except redis.RedisError:
        logger.warning("pool: Redis unavailable, enqueueing refill of %s without dedup", chain)
    try:
        enqueue("wallets.pool_refill", chain)
    except Exception:  # noqa: BLE001 - a broker outage must not fail the caller
        logger.exception("pool: cannot enqueue a refill of %s", chain)


def allocate_account(*, chain: str, owner_kind: str, owner_id: int) -> WalletAccount:
    """Claim one pooled account for an owner. Zero node calls.

    ``SELECT … FOR UPDATE SKIP LOCKED`` on the oldest pooled row, then a conditional
    update; concurrent callers skip each other's rows, so no account is handed out twice.
    Runs inside the caller's transaction: if it rolls back, so does the claim.
    An empty pool raises ``PoolEmpty`` (503 with a Retry-After computed from the refill
    rate) and asks for a refill.
    """
    if chain not in Chain.values:
        raise ValueError(f"unknown chain {chain!r}")
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        for _ in range(3):
            account = (
                WalletAccount.objects.select_for_update(skip_locked=True)
                .filter(chain=chain, state=AccountState.POOLED)
                .order_by("id")
                .first()
            )
            if account is None:
                break
            if _account_move(
                account.id,
                AccountState.ASSIGNED,
                from_state=AccountState.POOLED,
                owner_kind=owner_kind,
                owner_id=owner_id,
                assigned_at=now,
            ):
                account.state, account.owner_kind = AccountState.ASSIGNED, owner_kind
                account.owner_id, account.assigned_at = owner_id, now
                transaction.on_commit(functools.partial(_after_allocation, account))
                return account
    pool_refill_request(chain=chain)
    raise PoolEmpty(chain, retry_after=_refused_retry_after(chain))


# The pool's size is checked against its cached target once every this many allocations
# (and every minute by the scheduled pool check), not on each one.
POOL_CHECK_EVERY = 10


def _after_allocation(account: WalletAccount) -> None:
    """After commit: the Redis keys, and now and then a look at the pool's size. Monero
    accounts are tagged on the node in batches by the scheduled labelling task."""
    cache.account_write(account)
    try:
        claims = get_redis().incr(f"pool:claims:{account.chain}")
    except redis.RedisError:
        claims = 0
    if claims % POOL_CHECK_EVERY == 0:
        target = _target_cached(account.chain)
        if target is None:  # the refill computes it
            pool_refill_request(chain=account.chain)
            return
        remaining = (
            WalletAccount.objects.filter(chain=account.chain, state=AccountState.POOLED)
            .values_list("id", flat=True)[:target]
            .count()
        )
        if remaining < target:
            pool_refill_request(chain=account.chain)


def chains_labelling_accounts() -> list[str]:
    """The chains whose accounts carry their owner's tag on the node."""
    return [chain for chain in Chain.values if adapter(chain).labels_accounts]


def accounts_label_on_node(*, limit: int = 200) -> int:
    """Tag every account assigned but not yet labelled on the chains that tag accounts
    (the scheduled labelling task, every 30 s). Returns how many were labelled."""
    ids = list(
        WalletAccount.objects.filter(
            chain__in=chains_labelling_accounts(),
            purpose=AccountPurpose.DEPOSIT,
            state__in=[AccountState.ASSIGNED, AccountState.RETIRED],
            labelled_at__isnull=True,
        )
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    return sum(account_label_on_node(account_id=account_id) for account_id in ids)


def account_label_on_node(*, account_id: int) -> bool:
    """Write the owner's tag on the node (Monero ``tag_accounts`` + ``label_account``).

    Where the node cannot name accounts (bcoin), the owner ↔ account map lives in the
    database and Redis only. Safe to run twice. Returns True if the node was written.
    """
    account = WalletAccount.objects.select_related("master_wallet").get(id=account_id)
    chain_adapter = adapter(account.chain)
    if account.labelled_at or not chain_adapter.labels_accounts or not account.owner_tag:
        return False
    with wallet_writer(account.master_wallet_id):
        try:
            chain_adapter.account_label(account)
        except UnknownAccount:
            logger.error(
                "account %s: index %s unknown to the node", account.id, account.account_index
            )
            raise
    WalletAccount.objects.filter(id=account.id, labelled_at__isnull=True).update(
        labelled_at=timezone.now()
    )
    return True


def account_retire(*, account_id: int) -> bool:
    """Assigned → retired (the owner is finished). Deposits to it are still recorded."""
    return _account_move(
        account_id,
        AccountState.RETIRED,
        from_state=AccountState.ASSIGNED,
        retired_at=timezone.now(),
    )
