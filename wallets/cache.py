"""The seed's Redis key schema: a cache of owner → account that the database rebuilds.

bitcoin:{kind}:account:map        hash  owner id → account index
bitcoin:{kind}:account:{ownerId}  JSON  the account's metadata
monero:{kind}:account:map         hash  owner id → account index
monero:tag:{kind}                 set   the tags in use ({kind}_{ownerId})
monero:tag:{kind}_{ownerId}       JSON  account index and metadata

``kind`` is ``order`` for escrow orders (exactly the seed's keys) and ``swap`` for swaps.
Keys are written after commit; readers fall back to the database on a miss (and write the
key back), so a wiped Redis loses nothing. ``rebuild_redis`` rewrites every key.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import redis

from exchange.redis import get_redis
from wallets.chains import adapter
from wallets.models import AccountPurpose, AccountState, WalletAccount

if TYPE_CHECKING:
    from redis.client import Pipeline

logger = logging.getLogger(__name__)


def _metadata(account: WalletAccount) -> dict:
    return {
        "account_id": account.id,
        "account_index": account.account_index,
        "node_name": account.node_name,
        "address": account.address,
        "master_wallet_id": account.master_wallet_id,
        "owner": account.owner_tag,
        "state": account.state,
        "assigned_at": account.assigned_at.isoformat() if account.assigned_at else None,
    }


def _keys(account: WalletAccount) -> dict[str, str]:
    if account.owner_id is None:
        # Only accounts handed to an owner have keys: callers pass no other.
        raise ValueError(f"account {account.id} has no owner, hence no Redis keys")
    return adapter(account.chain).cache_keys(
        account.owner_kind, account.owner_id, account.owner_tag
    )


def _write(pipe: Pipeline, account: WalletAccount) -> int:
    """Queue the keys of one account on a pipeline; returns how many keys it writes."""
    keys = _keys(account)
    pipe.hset(keys["map"], str(account.owner_id), account.account_index)
    pipe.set(keys["meta"], json.dumps(_metadata(account), sort_keys=True))
    if "tags" in keys:
        pipe.sadd(keys["tags"], account.owner_tag)
    return len(keys)


def account_write(account: WalletAccount) -> None:
    """Write one account's keys (after commit). A Redis failure is logged, not raised."""
    if account.owner_id is None or account.purpose != AccountPurpose.DEPOSIT:
        return
    try:
        pipe = get_redis().pipeline(transaction=False)
        _write(pipe, account)
        pipe.execute()
    except redis.RedisError as exc:
        logger.warning("redis: cannot write account %s keys: %s", account.id, exc)


def account_read(*, chain: str, owner_kind: str, owner_id: int) -> dict | None:
    """The account metadata of an owner: Redis first, then the database (writing back)."""
    key = adapter(chain).cache_keys(owner_kind, owner_id, f"{owner_kind}_{owner_id}")["meta"]
    try:
        blob = get_redis().get(key)
        if blob:
            return json.loads(blob)
    except redis.RedisError as exc:
        logger.warning("redis: read of %s failed, using the database: %s", key, exc)
    account = WalletAccount.objects.filter(
        chain=chain, owner_kind=owner_kind, owner_id=owner_id
    ).first()
    if account is None:
        return None
    account_write(account)
    return _metadata(account)


def rebuild_redis(*, batch: int = 1000, dry_run: bool = False) -> dict[str, int]:
    """Rewrite every account key from the database (idempotent). Returns counts."""
    accounts = (
        WalletAccount.objects.filter(
            purpose=AccountPurpose.DEPOSIT,
            state__in=[AccountState.ASSIGNED, AccountState.RETIRED],
            owner_id__isnull=False,
        )
        .order_by("id")
        .iterator(chunk_size=batch)
    )
    counts = {"accounts": 0, "keys": 0}
    pipe = None if dry_run else get_redis().pipeline(transaction=False)
    for account in accounts:
        counts["accounts"] += 1
        if pipe is None:
            counts["keys"] += len(_keys(account))
            continue
        counts["keys"] += _write(pipe, account)
        if counts["accounts"] % batch == 0:
            pipe.execute()
    if pipe is not None:
        pipe.execute()
    return counts
