"""Balance sync: every account's node balance in O(1) node calls, compared with the books.

bitcoin: wallet RPC ``listunspent`` (every UTXO with its account name): 1 call (2 when the
master wallet is not bcoin's default ``primary``, which the RPC must select first).
monero: ``get_balance {all_accounts: true}`` (per subaddress holding outputs): 1 call.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from wallets.clients.base import node_calls
from wallets.models import AccountPurpose, BalanceSync, Chain, MasterWallet, WalletAccount
from wallets.nodes import client_for
from wallets.selectors import expected_balances
from wallets.signals import balances_synced


def node_balances(wallet: MasterWallet, *, refresh: bool = False) -> dict:
    """Every account's (total, spendable) balance in base units, in one node call: keyed by
    bcoin account name or Monero account index. ``refresh`` first brings a Monero wallet up
    to the chain's tip (one more call)."""
    client = client_for(wallet)
    totals: dict = defaultdict(lambda: [0, 0])
    if wallet.chain == Chain.BITCOIN:
        if wallet.name != "primary":
            client.wallet_rpc("selectwallet", wallet.name)
        for coin in client.unspent():
            totals[coin["account"]][0] += coin["value"]
            if coin["confirmations"] >= 1:
                totals[coin["account"]][1] += coin["value"]
    else:
        if refresh:
            client.refresh()
        for sub in client.balances().get("per_subaddress", []):
            totals[int(sub["account_index"])][0] += int(sub["balance"])
            totals[int(sub["account_index"])][1] += int(sub["unlocked_balance"])
    return {key: (t[0], t[1]) for key, t in totals.items()}


def balances_sync(*, chain: str) -> BalanceSync:
    """Store every account's node balance and its drift from what the books expect."""
    started = timezone.now()
    calls_before = node_calls(chain)
    compared = drift_accounts = drift_total = 0
    for wallet in MasterWallet.objects.filter(chain=chain).order_by("id"):
        by_name = node_balances(wallet)
        key = "node_name" if chain == Chain.BITCOIN else "account_index"
        expected = expected_balances(master_wallet_id=wallet.id)
        now = timezone.now()
        # Only accounts that hold something on the node or in the books, or did last time.
        accounts = (
            WalletAccount.objects.filter(master_wallet=wallet).filter(
                **{f"{key}__in": list(by_name)}
            )
            | WalletAccount.objects.filter(master_wallet=wallet, id__in=list(expected))
            | (WalletAccount.objects.filter(master_wallet=wallet).exclude(node_balance=0, drift=0))
        )
        changed = []
        for account in accounts.distinct():
            total, spendable = by_name.get(getattr(account, key), (0, 0))
            drift = 0
            if account.purpose == AccountPurpose.DEPOSIT:
                drift = total - expected.get(account.id, 0)
            compared += 1
            if drift:
                drift_accounts += 1
                drift_total += drift
            if (account.node_balance, account.node_spendable, account.drift) != (
                total,
                spendable,
                drift,
            ):
                account.node_balance, account.node_spendable, account.drift = (
                    total,
                    spendable,
                    drift,
                )
                account.balance_synced_at = now
                changed.append(account)
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
