"""The checks: spends against payouts, node balances against deposits and payouts, and
the ledger against both."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q, Sum

from operations.books.report import AccountLine, ChainBooks
from operations.books.spends import SPENT_STATES, Spend, _account_key, node_spends, payout_proofs
from ownership.models import LedgerBalance, LedgerEntry
from ownership.services import is_held_account
from wallets.chains import adapter
from wallets.clients.base import node_calls
from wallets.models import (
    CURRENCY_OF_CHAIN,
    Deposit,
    MasterWallet,
    Payout,
    PayoutState,
    WalletAccount,
)
from wallets.nodes import client_for
from wallets.services.balances import node_balances


def _sum(rows, key: str, value: str = "amount") -> dict:
    return {r[key]: int(r["s"] or 0) for r in rows.values(key).annotate(s=Sum(value))}


def books_check(*, chains: list[str], deep: bool = True) -> list[ChainBooks]:
    """Read the nodes and compare (``deep``: also recompute every held ledger account from
    its entries, not only from the running balances)."""
    return [_check_chain(chain, deep=deep) for chain in chains]


def _check_chain(chain: str, *, deep: bool) -> ChainBooks:
    books = ChainBooks(chain=chain)
    calls_before = node_calls(chain)
    for wallet in MasterWallet.objects.filter(chain=chain).order_by("id"):
        _check_wallet(wallet, books)
    _check_ledger(books, deep=deep)
    books.node_calls = node_calls(chain) - calls_before
    return books


def _check_wallet(wallet: MasterWallet, books: ChainBooks) -> None:
    key = _account_key(wallet)
    accounts = {a.id: a for a in WalletAccount.objects.filter(master_wallet=wallet)}
    by_key = {getattr(a, key): a for a in accounts.values()}
    addresses = {a.address for a in accounts.values() if a.address}
    client_for(wallet).refresh()
    spends = node_spends(wallet, addresses, payout_proofs(wallet))
    balances = node_balances(wallet)
    on_node = _check_spends(wallet, spends, by_key, books)
    _check_accounts(wallet, accounts, balances, on_node, books)
    _check_deposits(wallet, books)


def _check_spends(
    wallet: MasterWallet, spends: list[Spend], by_key: dict, books: ChainBooks
) -> set[str]:
    """Map node spends to payouts; returns the txids of payouts the node holds."""
    payouts = Payout.objects.filter(source_account__master_wallet=wallet).exclude(txid="")
    by_txid = {p.txid: p for p in payouts}
    bumps = {p.bump_txid: p for p in payouts if p.bump_txid}
    voided = {txid: p for p in Payout.objects.filter(chain=wallet.chain) for txid in p.voided_txids}
    on_node: set[str] = set()
    for spend in spends:
        books.spends += 1
        if spend.txid in bumps and spend.txid not in by_txid:
            _check_bump(bumps[spend.txid], spend, by_key, books)
            on_node.add(spend.txid)
            continue
        payout = by_txid.get(spend.txid)
        if payout is None:
            if spend.txid in voided:
                books.add(
                    "violation",
                    "double_payment",
                    spend.txid,
                    f"a voided transaction of payout {voided[spend.txid].id} is on the node",
                )
            elif all(ours for *_, ours in spend.destinations):
                books.internal_spends += 1
            else:
                books.add(
                    "violation",
                    "unmapped_spend",
                    spend.txid,
                    f"sent from {list(spend.sources)} to "
                    f"{[(a, v) for a, v, ours in spend.destinations if not ours]} by no payout "
                    "(a duplicate or an out-of-band spend)",
                )
            continue
        on_node.add(spend.txid)
        books.payouts_mapped += 1
        if payout.state in SPENT_STATES:
            books.sent_on_node += spend.pays(payout.address)
            books.fees_on_node += spend.fee
        elif payout.state == PayoutState.SIGNED:
            books.add(
                "alert",
                "relayed_not_recorded",
                f"payout {payout.id}",
                f"{spend.txid} is on the node; the next scan records it as relayed",
            )
        if spend.txid in payout.voided_txids:
            books.add(
                "violation",
                "double_payment",
                f"payout {payout.id}",
                f"its voided transaction {spend.txid} is on the node",
            )
        source = by_key.get(spend.sources[0]) if len(spend.sources) == 1 else None
        if source is None or source.id != payout.source_account_id:
            books.add(
                "violation",
                "wrong_source",
                f"payout {payout.id}",
                f"{spend.txid} spent from {list(spend.sources)}, not its source account",
            )
        if spend.pays(payout.address) != payout.sent_amount or spend.fee != payout.network_fee:
            books.add(
                "violation",
                "amount_mismatch",
                f"payout {payout.id}",
                f"{spend.txid} pays {spend.pays(payout.address)} with fee {spend.fee}; the "
                f"payout says {payout.sent_amount} with fee {payout.network_fee}",
            )
        if payout.state not in (*SPENT_STATES, PayoutState.SIGNED):
            books.add(
                "violation",
                "payout_state",
                f"payout {payout.id}",
                f"{spend.txid} is on the node but the payout is {payout.state}",
            )
    for payout in payouts.filter(state__in=SPENT_STATES):
        if payout.txid not in on_node:
            books.add(
                "violation",
                "payout_missing",
                f"payout {payout.id}",
                f"{payout.state} with {payout.txid}, which the node does not hold",
            )
        if payout.bump_txid and payout.bump_txid not in on_node:
            books.add(
                "violation",
                "bump_missing",
                f"payout {payout.id}",
                f"its fee bump {payout.bump_txid} is booked, but the node does not hold it",
            )
    return on_node


def _check_bump(payout: Payout, spend: Spend, by_key: dict, books: ChainBooks) -> None:
    """A fee bump is the payout's own: it spends from the payout's source account, pays
    nothing but back into it (never the destination again), and pays the fee stored."""
    books.bumps_mapped += 1
    subject = f"payout {payout.id}"
    if spend.txid in payout.voided_txids:
        books.add(
            "violation",
            "double_payment",
            subject,
            f"its voided fee bump {spend.txid} is on the node",
        )
    source = by_key.get(spend.sources[0]) if len(spend.sources) == 1 else None
    if source is None or source.id != payout.source_account_id:
        books.add(
            "violation",
            "wrong_source",
            subject,
            f"fee bump {spend.txid} spent from {list(spend.sources)}, not its source account",
        )
    paid = [(a, v) for a, v, ours in spend.destinations if not ours or a == payout.address]
    if paid:
        books.add(
            "violation",
            "bump_pays",
            subject,
            f"fee bump {spend.txid} pays {paid}: a fee bump pays nobody",
        )
    if spend.fee != payout.bump_fee:
        books.add(
            "violation",
            "amount_mismatch",
            subject,
            f"fee bump {spend.txid} pays fee {spend.fee}; the payout says {payout.bump_fee}",
        )
    if payout.state in SPENT_STATES:
        books.fees_on_node += spend.fee
    elif payout.state != PayoutState.SIGNED:
        books.add(
            "violation",
            "payout_state",
            subject,
            f"its fee bump {spend.txid} is on the node but the payout is {payout.state}",
        )


def _check_accounts(
    wallet: MasterWallet,
    accounts: dict[int, WalletAccount],
    balances: dict,
    on_node: set[str],
    books: ChainBooks,
) -> None:
    """Node balance = live deposits − what the payouts on the node spent, per account; and
    the ledger booked each credited deposit and each spend once."""
    key = _account_key(wallet)
    deposits = Deposit.objects.filter(master_wallet=wallet, dropped=False)
    if not adapter(wallet.chain).balance_counts_mempool:
        deposits = deposits.filter(height__isnull=False)
    live = _sum(deposits, "account_id")
    credited = _sum(
        Deposit.objects.filter(master_wallet=wallet, credited_at__isnull=False), "account_id"
    )
    spent: dict[int, int] = defaultdict(int)
    booked_out: dict[int, int] = defaultdict(int)
    for payout in Payout.objects.filter(source_account__master_wallet=wallet).exclude(txid=""):
        if payout.txid in on_node:
            spent[payout.source_account_id] += payout.spent_amount
        if payout.bump_txid and payout.bump_txid in on_node:
            spent[payout.source_account_id] += payout.bump_fee
        if payout.state in SPENT_STATES:
            booked_out[payout.source_account_id] += payout.total_spent
    entries = LedgerEntry.objects.filter(transaction__wallet_account__master_wallet=wallet)
    ledger_in = {
        r["transaction__wallet_account_id"]: int(r["c"] or 0) - int(r["d"] or 0)
        for r in entries.filter(account="deposits")
        .values("transaction__wallet_account_id")
        .annotate(d=Sum("debit"), c=Sum("credit"))
    }
    ledger_out = {
        r["transaction__wallet_account_id"]: int(r["d"] or 0) - int(r["c"] or 0)
        for r in entries.filter(account__in=["sent", "network:fees"])
        .values("transaction__wallet_account_id")
        .annotate(d=Sum("debit"), c=Sum("credit"))
    }
    node_keys = {k for k, (total, _) in balances.items() if total}
    known = {getattr(a, key) for a in accounts.values()}
    for unknown in sorted(node_keys - known, key=str):
        books.add(
            "violation",
            "unknown_account",
            unknown,
            f"the node holds {balances[unknown][0]} in an account the engine does not know",
        )
    involved = set(live) | set(spent) | set(credited) | set(ledger_in) | set(ledger_out)
    involved |= {a.id for a in accounts.values() if getattr(a, key) in node_keys}
    for account_id in sorted(involved):
        account = accounts[account_id]
        node = balances.get(getattr(account, key), (0, 0))[0]
        recorded = live.get(account_id, 0) - spent.get(account_id, 0)
        books.accounts += 1
        books.node_total += node
        books.recorded_total += recorded
        ledger_ok = ledger_in.get(account_id, 0) == credited.get(account_id, 0) and ledger_out.get(
            account_id, 0
        ) == booked_out.get(account_id, 0)
        if node != recorded or not ledger_ok:
            cause = _cause(account, node, recorded, ledger_ok)
            books.differences.append(
                AccountLine(
                    account_id=account.id,
                    account_index=account.account_index,
                    owner=account.owner_tag,
                    node=node,
                    recorded=recorded,
                    ledger=ledger_in.get(account_id, 0) - ledger_out.get(account_id, 0),
                    cause=cause,
                )
            )
            books.add("violation", "account", f"account {account.id}", cause)


def _cause(account: WalletAccount, node: int, recorded: int, ledger_ok: bool) -> str:
    if node > recorded:
        return "unrecorded deposit: the node holds more than the recorded deposits (run `rescan`)"
    if node < recorded:
        if Payout.objects.filter(source_account=account, state=PayoutState.SIGNED).exists():
            return "payout relayed but not recorded: a signed payout of this account is on chain"
        return "out-of-band spend: coins left this account without a payout of the engine"
    if not ledger_ok:
        return "the ledger credited a deposit or booked a payout a different number of times"
    return "the books disagree"


def _check_deposits(wallet: MasterWallet, books: ChainBooks) -> None:
    vanished = Deposit.objects.filter(master_wallet=wallet, credited_at__isnull=False).filter(
        Q(dropped=True) | Q(height__isnull=True)
    )
    for deposit in vanished.select_related("account"):
        books.add(
            "alert",
            "credited_deposit_vanished",
            f"{deposit.txid}:{deposit.output_key}",
            f"{deposit.amount} credited to {deposit.account.owner_tag or 'the house'} is no "
            "longer in a block (reorg); what rests on it is on hold",
        )


def _check_ledger(books: ChainBooks, *, deep: bool) -> None:
    currency = CURRENCY_OF_CHAIN[books.chain]
    for row in LedgerBalance.objects.filter(currency=currency, balance__lt=0):
        books.add("violation", "negative_held", row.account, f"holds {row.balance}")
    if deep:
        rows = (
            LedgerEntry.objects.filter(currency=currency)
            .values("account")
            .annotate(d=Sum("debit"), c=Sum("credit"))
        )
        entries = {r["account"]: int(r["d"] or 0) - int(r["c"] or 0) for r in rows}
        running = dict(
            LedgerBalance.objects.filter(currency=currency).values_list("account", "balance")
        )
        for account, balance in entries.items():
            if not is_held_account(account):
                continue
            if balance < 0:
                books.add("violation", "negative_held", account, f"its entries sum to {balance}")
            if running.get(account, 0) != balance:
                books.add(
                    "violation",
                    "running_balance",
                    account,
                    f"running balance {running.get(account, 0)}, entries {balance}",
                )
        credited = int(
            Deposit.objects.filter(chain=books.chain, credited_at__isnull=False).aggregate(
                s=Sum("amount")
            )["s"]
            or 0
        )
        if -entries.get("deposits", 0) != credited:
            books.add(
                "violation",
                "deposits_credited",
                currency,
                f"the ledger credited {-entries.get('deposits', 0)}, the deposits credited "
                f"sum to {credited}",
            )
        booked = entries.get("sent", 0) + entries.get("network:fees", 0)
        node = books.sent_on_node + books.fees_on_node
        if booked != node:
            books.add(
                "violation",
                "sent",
                currency,
                f"the ledger says {booked} was sent with its fees; the node shows {node}",
            )
