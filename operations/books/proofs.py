"""Proof figures: the transactions that pay each expected (account, address), counted
from the same node reading as the checks."""

from __future__ import annotations

from collections import Counter

from operations.books.spends import _account_key, node_spends, payout_proofs
from wallets.models import MasterWallet, WalletAccount


def payments_measured(
    *,
    chain: str,
    expected: list[tuple[WalletAccount, str]],
    forbidden: list[tuple[WalletAccount, str]] = (),
) -> dict:
    """For each expected payment (source account, destination address), the transactions
    the node shows paying it from that account. ``made``: expected payments the node
    shows; ``duplicated``: transactions beyond one per expected payment, and any paying a
    ``forbidden`` one (a payment that must not happen); ``lost``: expected payments the
    node does not show. Several expected payments of one account to one address are
    counted together."""
    wanted = Counter((account.id, address) for account, address in expected)
    banned = {(account.id, address) for account, address in forbidden}
    accounts = {account.id: account for account, _ in [*expected, *forbidden]}
    found: Counter = Counter()
    for wallet in MasterWallet.objects.filter(chain=chain):
        key = _account_key(wallet)
        mine = {getattr(a, key): a.id for a in accounts.values() if a.master_wallet_id == wallet.id}
        if not mine:
            continue
        addresses = set(
            WalletAccount.objects.filter(master_wallet=wallet).values_list("address", flat=True)
        )
        for spend in node_spends(wallet, addresses, payout_proofs(wallet)):
            for source in spend.sources:
                if source not in mine:
                    continue
                for address, _amount, _ours in spend.destinations:
                    if (mine[source], address) in wanted or (mine[source], address) in banned:
                        found[(mine[source], address)] += 1
    made = sum(min(n, found[k]) for k, n in wanted.items())
    duplicated = sum(max(0, found[k] - n) for k, n in wanted.items())
    duplicated += sum(found[k] for k in banned)
    lost = sum(max(0, n - found[k]) for k, n in wanted.items())
    return {"expected": sum(wanted.values()), "made": made, "duplicated": duplicated, "lost": lost}
