"""Thin tasks: ids in, one service call, retries only on typed transient errors."""

from __future__ import annotations

import logging

import redis
from celery import shared_task

from exchange.celery import DATABASE_TRANSIENT, SCHEDULED, TRANSACTIONS
from exchange.single_flight import single_flight
from wallets.clients.base import RetryLater

logger = logging.getLogger(__name__)


# A paced refill that stood aside for payouts (or its rate) looks again this much later.
REFILL_PAUSE_SECONDS = 5


@shared_task(
    name="wallets.pool_refill", autoretry_for=(RetryLater, *DATABASE_TRANSIENT), **TRANSACTIONS
)
def pool_refill_task(chain: str) -> int:
    """One paced batch; re-enqueues itself while the pool is below its target (which
    follows demand, ``pool_target``), so other writers get the wallet between batches (a
    paused refill is retried later). Before it stops, the target is computed afresh: a
    burst seen since the cached one raises it."""
    from exchange.redis import get_redis
    from wallets.services import pool_refill, pooled_count
    from wallets.services.pool import RefillPaused
    from wallets.services.pool_target import pool_target

    try:
        made = pool_refill(chain=chain, paced=True)
    except RefillPaused:
        pool_refill_task.apply_async((chain,), countdown=REFILL_PAUSE_SECONDS)
        return 0
    pooled = pooled_count(chain=chain)
    if made and (
        pooled < pool_target(chain=chain) or pooled < pool_target(chain=chain, fresh=True)
    ):
        pool_refill_task.delay(chain)
    else:
        try:
            get_redis().delete(f"pool:refill-requested:{chain}")
        except redis.RedisError:
            pass
    return made


@shared_task(name="wallets.pool_check", **SCHEDULED)
def pool_check_task() -> None:
    """Every minute: the target of every chain computed afresh from demand, and a refill
    asked for where the pool is below it."""
    from wallets.models import Chain
    from wallets.services import pool_refill_request, pooled_count
    from wallets.services.pool_target import pool_target

    for chain in Chain.values:
        if pooled_count(chain=chain) < pool_target(chain=chain, fresh=True):
            pool_refill_request(chain=chain)


@shared_task(
    name="wallets.label_accounts",
    autoretry_for=(RetryLater, *DATABASE_TRANSIENT),
    soft_time_limit=240,
    time_limit=300,
    **TRANSACTIONS,
)
@single_flight("label-accounts", ttl=300)
def label_accounts_task() -> int:
    """Tag newly assigned Monero accounts on the node (``order_12``), in one batch."""
    from wallets.services.pool import accounts_label_on_node

    return accounts_label_on_node()


@shared_task(name="wallets.deposits_scan", soft_time_limit=120, time_limit=150, **SCHEDULED)
def deposits_scan_task(chain: str) -> dict:
    """Scan one chain. A node that is down is logged; the next scan catches up."""
    from wallets.services import deposits_scan, scan_request_clear

    scan_request_clear(chain=chain)
    try:
        result = deposits_scan(chain=chain)
    except RetryLater as exc:
        logger.warning("deposit scan of %s skipped: %s", chain, exc)
        return {"chain": chain, "skipped": str(exc)}
    return {"chain": chain, "new": result.new, "updated": result.updated, "dropped": result.dropped}


@shared_task(name="wallets.balances_sync", soft_time_limit=120, time_limit=150, **SCHEDULED)
def balances_sync_task(chain: str) -> dict:
    from wallets.services import balances_sync

    try:
        run = balances_sync(chain=chain)
    except RetryLater as exc:
        logger.warning("balance sync of %s skipped: %s", chain, exc)
        return {"chain": chain, "skipped": str(exc)}
    return {"chain": chain, "accounts": run.accounts, "drift_accounts": run.drift_accounts}


@shared_task(
    name="wallets.payout_process", autoretry_for=(RetryLater, *DATABASE_TRANSIENT), **TRANSACTIONS
)
def payout_process_task(payout_id: int) -> str:
    """One saga step of a payout. Transient errors retry (3 attempts); after that the
    payout waits as it is and the sweep enqueues it again."""
    from wallets.services.payouts import payout_process

    return payout_process(payout_id=payout_id).state


@shared_task(name="wallets.payouts_sweep", **SCHEDULED)
def payouts_sweep_task() -> int:
    from wallets.services.payouts import payouts_sweep

    return payouts_sweep()
