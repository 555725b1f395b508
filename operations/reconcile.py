"""Reconciliation: the books against the nodes, per account and per chain.

For every deposit account the node's balance (one call per chain, as the balance sync)
is compared with
- the records: deposits the node still reports, less what relayed payouts spent;
- the ledger: what it says the owner still holds, plus deposits not credited yet.
Each difference gets its likely cause. Node calls do not grow with the account count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.db.models import Q, Sum
from django.utils import timezone

from operations.models import ReconcileRun
from ownership.models import LedgerEntry
from wallets.clients.base import node_calls
from wallets.models import (
    CURRENCY_OF_CHAIN,
    AccountPurpose,
    Chain,
    Deposit,
    MasterWallet,
    Payout,
    PayoutState,
    WalletAccount,
)
from wallets.services.balances import node_balances


@dataclass
class Difference:
    account_id: int
    account_index: int | None
    owner: str
    node: int
    recorded: int
    ledger: int
    cause: str


@dataclass
class ChainReport:
    chain: str
    accounts: int = 0
    node_calls: int = 0
    node_total: int = 0
    recorded_total: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def drift_total(self) -> int:
        return sum(abs(d.node - d.recorded) + abs(d.ledger - d.recorded) for d in self.differences)

    def as_dict(self) -> dict:
        return {**asdict(self), "drift_total": self.drift_total, "clean": not self.differences}


def _recorded(wallet: MasterWallet) -> dict[int, int]:
    deposits = Deposit.objects.filter(account__master_wallet=wallet, dropped=False)
    if wallet.chain == Chain.MONERO:
        deposits = deposits.filter(height__isnull=False)
    recorded = {
        r["account_id"]: int(r["s"])
        for r in deposits.values("account_id").annotate(s=Sum("amount"))
    }
    spent = (
        Payout.objects.filter(
            source_account__master_wallet=wallet,
            state__in=[PayoutState.RELAYED, PayoutState.CONFIRMED],
        )
        .values("source_account_id")
        .annotate(s=Sum("amount"))
    )
    for row in spent:
        recorded[row["source_account_id"]] = recorded.get(row["source_account_id"], 0) - int(
            row["s"]
        )
    return recorded


def _ledger(wallet: MasterWallet, accounts: dict[int, WalletAccount]) -> dict[int, int]:
    """What the ledger says each owner still holds on the node, by account."""
    currency = CURRENCY_OF_CHAIN[wallet.chain]
    rows = (
        LedgerEntry.objects.filter(
            currency=currency, account__in=["deposits", "sent", "network:fees"]
        )
        .exclude(transaction__owner_id=None)
        .values("transaction__owner_kind", "transaction__owner_id")
        .annotate(d=Sum("debit"), c=Sum("credit"))
    )
    held = {
        (r["transaction__owner_kind"], r["transaction__owner_id"]): int(r["c"] or 0)
        - int(r["d"] or 0)
        for r in rows
    }
    by_account = {}
    for account in accounts.values():
        by_account[account.id] = held.get((account.owner_kind, account.owner_id), 0)
    # The swaps' payouts leave from the house account, not the deposit account: the house
    # is not reconciled per account (it also holds capital the ledger does not record).
    return by_account


def _uncredited(wallet: MasterWallet) -> dict[int, int]:
    deposits = Deposit.objects.filter(
        account__master_wallet=wallet, dropped=False, credited_at__isnull=True
    )
    if wallet.chain == Chain.MONERO:
        deposits = deposits.filter(height__isnull=False)
    return {
        r["account_id"]: int(r["s"])
        for r in deposits.values("account_id").annotate(s=Sum("amount"))
    }


def _cause(account: WalletAccount, node: int, recorded: int, ledger: int) -> str:
    if node > recorded:
        return "unrecorded deposit: the node holds more than the recorded deposits (run `rescan`)"
    if node < recorded:
        if Payout.objects.filter(source_account=account, state=PayoutState.SIGNED).exists():
            return "payout relayed but not recorded: a signed payout of this account is on chain"
        return "out-of-band spend: coins left this account without a payout of the engine"
    return "the ledger disagrees with the recorded deposits and payouts"


def reconcile_chain(
    *, chain: str, progress: Callable[[int, int], None] | None = None
) -> ChainReport:
    report = ChainReport(chain=chain)
    calls_before = node_calls(chain)
    for wallet in MasterWallet.objects.filter(chain=chain).order_by("id"):
        balances = node_balances(wallet, refresh=True)
        key = "node_name" if chain == Chain.BITCOIN else "account_index"
        recorded = _recorded(wallet)
        accounts = {
            a.id: a
            for a in WalletAccount.objects.filter(
                master_wallet=wallet, purpose=AccountPurpose.DEPOSIT
            ).filter(Q(id__in=list(recorded)) | Q(**{f"{key}__in": list(balances)}))
        }
        ledger = _ledger(wallet, accounts)
        uncredited = _uncredited(wallet)
        swap_owned = {a.id for a in accounts.values() if a.owner_kind == "swap"}
        for done, account in enumerate(accounts.values(), start=1):
            node = balances.get(getattr(account, key), (0, 0))[0]
            expected = recorded.get(account.id, 0)
            books = ledger[account.id] + uncredited.get(account.id, 0)
            if account.id in swap_owned:
                books = expected  # swap deposits are the house's after the exchange
            report.accounts += 1
            report.node_total += node
            report.recorded_total += expected
            if node != expected or books != expected:
                report.differences.append(
                    Difference(
                        account_id=account.id,
                        account_index=account.account_index,
                        owner=account.owner_tag,
                        node=node,
                        recorded=expected,
                        ledger=books,
                        cause=_cause(account, node, expected, books),
                    )
                )
            if progress and done % 200 == 0:
                progress(done, len(accounts))
    report.node_calls = node_calls(chain) - calls_before
    return report


def reconcile(*, chains: list[str], store: bool = False, progress=None) -> list[ChainReport]:
    reports = []
    for chain in chains:
        started = timezone.now()
        report = reconcile_chain(chain=chain, progress=progress)
        reports.append(report)
        if store:
            ReconcileRun.objects.create(
                chain=chain,
                started_at=started,
                finished_at=timezone.now(),
                accounts=report.accounts,
                node_calls=report.node_calls,
                drift_accounts=len(report.differences),
                drift_total=report.drift_total,
                differences=[asdict(d) for d in report.differences],
            )
    return reports
