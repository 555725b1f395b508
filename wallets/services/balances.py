"""Balance sync: every account's node balance in O(1) node calls (one or two per master
wallet, by its chain's adapter: wallets.chains), compared with the books.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from wallets.chains import adapter
from wallets.clients.base import node_calls
from wallets.models import AccountPurpose, BalanceSync, MasterWallet, WalletAccount
from wallets.selectors import expected_balances
from wallets.signals import balances_synced


def node_balances(wallet: MasterWallet, *, refresh: bool = False) -> dict:
    """Every account's (total, spendable) balance in base units, keyed by the name the
    node gives accounts (``ChainAdapter.account_key``). ``refresh`` first brings a wallet
    that needs it up to the chain's tip (one more call)."""
    return adapter(wallet.chain).balances(wallet, refresh=refresh)


def balances_sync(*, chain: str) -> BalanceSync:
    """Store every account's node balance and its drift from what the books expect."""
    started = timezone.now()
    calls_before = node_calls(chain)
    compared = drift_accounts = drift_total = 0
    for wallet in MasterWallet.objects.filter(chain=chain).order_by("id"):
        by_name = node_balances(wallet)
        key = adapter(chain).account_key
        expected = expected_balances(master_wallet_id=wallet.id)
        now = timezone.now()
        # One narrow read of the wallet's accounts as tuples: model instances are made only
        # for the few whose figures moved.
        rows = WalletAccount.objects.filter(master_wallet=wallet).values_list(
            "id", key, "purpose", "node_balance", "node_spendable", "drift"
        )
        changed = []
        for account_id, name, purpose, was_total, was_spendable, was_drift in rows:
            # Only accounts that hold something on the node or in the books, or did last time.
            if name not in by_name and account_id not in expected and not (was_total or was_drift):
                continue
            total, spendable = by_name.get(name, (0, 0))
            drift = 0
            if purpose == AccountPurpose.DEPOSIT:
                drift = total - expected.get(account_id, 0)
            compared += 1
            if drift:
                drift_accounts += 1
                drift_total += drift
            if (was_total, was_spendable, was_drift) != (total, spendable, drift):
                changed.append(
                    WalletAccount(
                        id=account_id,
                        node_balance=total,
                        node_spendable=spendable,
                        drift=drift,
                        balance_synced_at=now,
                    )
                )
        with transaction.atomic():
            WalletAccount.objects.bulk_update(
                changed,
                ["node_balance", "node_spendable", "drift", "balance_synced_at"],
                batch_size=500,
            )
    balances_synced.send(sender=BalanceSync, chain=chain, read_at=started)
    return BalanceSync.objects.create(
        chain=chain,
        started_at=started,
        finished_at=timezone.now(),
        accounts=compared,
        node_calls=node_calls(chain) - calls_before,
        drift_accounts=drift_accounts,
        drift_total=drift_total,
    )
