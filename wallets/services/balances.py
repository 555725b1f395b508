"""Balance sync: every account's node balance in O(1) node calls (one or two per master
wallet, by its chain's adapter: wallets.chains), compared with the books.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
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


STORE_BATCH = 500

_STORE_COLUMNS = ("node_balance", "node_spendable", "drift")


def _balances_store(rows: list[tuple[int, int, int, int]], *, at: datetime) -> None:
    """Write (id, node_balance, node_spendable, drift) rows in one UPDATE joined to the
    new figures on the primary key. (Django's bulk_update writes a CASE of one branch per
    row, which MariaDB evaluates for every row: quadratic in the batch, seconds at 1,000.)"""
    if not rows:
        return
    qn = connection.ops.quote_name
    table = qn(WalletAccount._meta.db_table)
    figures = " UNION ALL ".join(
        ["SELECT %s AS id, %s AS b, %s AS s, %s AS d"] + ["SELECT %s, %s, %s, %s"] * (len(rows) - 1)
    )
    assignments = ", ".join(
        f"a.{qn(column)} = v.{alias}" for column, alias in zip(_STORE_COLUMNS, "bsd", strict=True)
    )
    sql = (
        f"UPDATE {table} a JOIN ({figures}) v ON a.{qn('id')} = v.id"  # noqa: S608
        f" SET {assignments}, a.{qn('balance_synced_at')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [value for row in rows for value in row]
            + [connection.ops.adapt_datetimefield_value(at)],
        )


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
        # One narrow read of the wallet's accounts as tuples, and one UPDATE per batch of
        # those whose figures moved.
        rows = WalletAccount.objects.filter(master_wallet=wallet).values_list(
            "id", key, "purpose", "node_balance", "node_spendable", "drift"
        )
        changed: list[tuple[int, int, int, int]] = []
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
                changed.append((account_id, total, spendable, drift))
        with transaction.atomic():
            for i in range(0, len(changed), STORE_BATCH):
                _balances_store(changed[i : i + STORE_BATCH], at=now)
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
