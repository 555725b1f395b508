"""Wallet actions: the account pool, deposit scans, balance sync (and, with orders, payouts)."""

from wallets.services.balances import balances_sync
from wallets.services.deposits import deposits_scan, scan_request, scan_request_clear
from wallets.services.master_wallets import house_account_ensure, master_wallet_ensure
from wallets.services.pool import (
    PoolEmpty,
    account_label_on_node,
    account_retire,
    accounts_label_on_node,
    allocate_account,
    pool_refill,
    pool_refill_request,
)
from wallets.services.pool_target import pooled_count

__all__ = [
    "PoolEmpty",
    "account_label_on_node",
    "accounts_label_on_node",
    "account_retire",
    "allocate_account",
    "balances_sync",
    "deposits_scan",
    "house_account_ensure",
    "master_wallet_ensure",
    "pool_refill",
    "pool_refill_request",
    "pooled_count",
    "scan_request",
    "scan_request_clear",
]
