"""Test data: real rows through the real services."""

from __future__ import annotations

import itertools
import time

from django.conf import settings

from wallets.models import WalletAccount
from wallets.services import allocate_account, pool_refill, pooled_count

_owner_ids = itertools.count(int(time.time() * 1000) % 10**9 * 1000)


def next_owner_id() -> int:
    return next(_owner_ids)


def fill_pool(chain: str, *, at_least: int | None = None) -> None:
    """Pre-create accounts until ``chain`` has ``at_least`` pooled (default POOL_MIN)."""
    want = at_least or settings.POOL_MIN
    missing = want - pooled_count(chain=chain)
    if missing > 0:
        pool_refill(chain=chain, batch_size=missing, target=want)


def assigned_account(chain: str, *, owner_kind: str = "test") -> WalletAccount:
    """A deposit account handed to a fresh owner (the pool is refilled first if needed)."""
    fill_pool(chain, at_least=1)
    return allocate_account(chain=chain, owner_kind=owner_kind, owner_id=next_owner_id())
