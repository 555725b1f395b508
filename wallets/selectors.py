"""Reads about wallets, accounts and nodes."""

from __future__ import annotations

from wallets.chains import adapter


def node_status(*, chain: str, timeout: float) -> dict:
    """Height and reachability of a chain's node (and its wallet RPC where it has one)."""
    return adapter(chain).node_status(timeout=timeout)


def scanned_height(*, chain: str) -> int | None:
    """The height the deposit scans of ``chain`` have reached in every active master wallet
    (the lowest of them); None while there is none."""
    from django.db.models import Min

    from wallets.models import MasterWallet

    lowest = MasterWallet.objects.filter(chain=chain, is_active=True).aggregate(
        lowest=Min("scanned_height")
    )["lowest"]
    return int(lowest) if lowest is not None else None


def expected_balances(*, master_wallet_id: int) -> dict[int, int]:
    """What the books say each deposit account of a wallet holds on the node, base units:
    deposits the node still reports (those in the mempool only where the node's balance
    counts them), minus what payouts relayed from the account spent.
    """
    from django.db.models import Q, Sum

    from wallets.models import Deposit, MasterWallet

    chain = MasterWallet.objects.values_list("chain", flat=True).get(id=master_wallet_id)
    deposits = Deposit.objects.filter(account__master_wallet_id=master_wallet_id, dropped=False)
    if not adapter(chain).balance_counts_mempool:
        deposits = deposits.filter(Q(height__isnull=False))
    expected: dict[int, int] = {
        row["account_id"]: int(row["total"])
        for row in deposits.values("account_id").annotate(total=Sum("amount"))
    }
    for account_id, spent in payouts_spent(master_wallet_id=master_wallet_id).items():
        expected[account_id] = expected.get(account_id, 0) - spent
    return expected


def payouts_spent(*, master_wallet_id: int) -> dict[int, int]:
    """Base units that relayed payouts took out of each account (amount, network fee
    included, plus what a fee bump paid)."""
    from django.db.models import F, Sum

    from wallets.models import Payout, PayoutState

    rows = (
        Payout.objects.filter(
            source_account__master_wallet_id=master_wallet_id,
            state__in=[PayoutState.RELAYED, PayoutState.CONFIRMED],
        )
        .values("source_account_id")
        .annotate(total=Sum(F("amount") + F("bump_fee")))
    )
    return {row["source_account_id"]: int(row["total"]) for row in rows}


def pool_status() -> dict[str, dict[str, int]]:
    """Deposit accounts per chain and state (one grouped query)."""
    from django.db.models import Count

    from wallets.models import AccountPurpose, AccountState, Chain, WalletAccount

    status = {chain: dict.fromkeys(AccountState.values, 0) for chain in Chain.values}
    rows = (
        WalletAccount.objects.filter(purpose=AccountPurpose.DEPOSIT)
        .values("chain", "state")
        .annotate(n=Count("id"))
    )
    for row in rows:
        status[row["chain"]][row["state"]] = row["n"]
    return status
