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
from django.utils import timezone

from exchange.dispatch import enqueue
from exchange.errors import ServiceUnavailable
from exchange.redis import get_redis
from wallets import cache
from wallets.chains import adapter
from wallets.clients.base import RetryLater, UnknownAccount
from wallets.locks import wallet_writer
from wallets.models import (
    ACCOUNT_TRANSITIONS,
    AccountPurpose,
    AccountState,
    Chain,
    MasterWallet,
    Payout,
    PayoutState,
    WalletAccount,
)
from wallets.services.master_wallets import house_account_ensure, wallet_for_new_accounts
from wallets.services.pool_target import (
    pace_record,
    pool_target,
    pooled_count,
    refused_retry_after,
    target_cached,
)

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
    wallet = wallet_for_new_accounts(chain)
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
        pace_record(chain, len(made) - leftovers, time.monotonic() - started)
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
    raise PoolEmpty(chain, retry_after=refused_retry_after(chain))


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
        target = target_cached(account.chain)
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
