"""The books against the chain: one checker for the test suite, ``make proof`` and
``reconcile``.

Everything it compares starts from what the nodes hold, read in a constant number of calls
per master wallet (bitcoin: the wallet history and its unspent outputs; Monero: a refresh,
its outgoing transfers and its balances):

- every transaction the engine's wallets sent maps to exactly one payout (its stored txid),
  and every relayed or confirmed payout maps to one such transaction, paying the stored
  amount to the stored address with the stored fee. An unmapped spend is a duplicate or an
  out-of-band spend; a voided transaction on chain is a double payment;
- every account's node balance equals its deposits less what its payouts spent;
- per account, the ledger credited each deposit once and booked each payout's spend once;
- no ledger account of money held is negative;
- per currency, what the ledger says was sent and paid in fees is what the node shows.

``payments_measured`` counts, from the same node reading, the transactions that pay each
expected (account, address): what a proof figure is made of.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from django.db.models import Q, Sum

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

SPENT_STATES = (PayoutState.RELAYED, PayoutState.CONFIRMED)
# What a transaction paid an address, once the daemon proved it: its bytes cannot change.
_PROVED: dict[tuple[str, str], int] = {}


@dataclass
class Finding:
    """``violation``: the books and the chain disagree (a test fails, reconcile exits 2).
    ``alert``: something staff must see that the books already account for (a credited
    deposit that vanished, an owner on hold)."""

    severity: str
    kind: str
    chain: str
    subject: str
    detail: str


@dataclass
class AccountLine:
    account_id: int
    account_index: int | None
    owner: str
    node: int
    recorded: int
    ledger: int
    cause: str


@dataclass
class ChainBooks:
    chain: str
    node_calls: int = 0
    accounts: int = 0
    node_total: int = 0
    recorded_total: int = 0
    spends: int = 0
    internal_spends: int = 0
    payouts_mapped: int = 0
    sent_on_node: int = 0
    fees_on_node: int = 0
    differences: list[AccountLine] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "violation"]

    @property
    def alerts(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "alert"]

    @property
    def clean(self) -> bool:
        return not self.findings

    @property
    def drift_total(self) -> int:
        return sum(abs(d.node - d.recorded) + abs(d.ledger - d.recorded) for d in self.differences)

    def add(self, severity: str, kind: str, subject: str, detail: str) -> None:
        self.findings.append(Finding(severity, kind, self.chain, str(subject), detail))

    def as_dict(self) -> dict:
        return {**asdict(self), "clean": self.clean, "drift_total": self.drift_total}


@dataclass(frozen=True)
class Spend:
    """A transaction a master wallet sent, as its node reports it."""

    txid: str
    sources: tuple  # bcoin account names / Monero account indices it spent from
    destinations: tuple  # (address, amount, ours) per output that is not change
    fee: int
    confirmations: int

    def pays(self, address: str) -> int:
        return sum(amount for a, amount, _ in self.destinations if a == address)


def node_spends(
    wallet: MasterWallet, addresses: set[str], proofs: dict[str, tuple[str, str]] | None = None
) -> list[Spend]:
    """Every transaction the master wallet sent (mempool included); ``addresses`` are the
    wallet's own, to tell an internal transfer from a payment (when the node cannot).
    Where the node does not say where a transaction paid (a Monero transfer the wallet
    learnt from the chain), ``proofs`` (txid → (tx key, address)) let the daemon prove what
    it paid that address."""
    client = client_for(wallet)
    spends = []
    for raw in client.spends():
        destinations = []
        for address, amount, ours in raw["destinations"]:
            if address is None:
                proof, to = (proofs or {}).get(raw["txid"], ("", ""))
                received = _PROVED.get((raw["txid"], to))
                if received is None:
                    received = client.payment_proof(txid=raw["txid"], proof=proof, address=to)
                    if received is not None:
                        _PROVED[(raw["txid"], to)] = received
                address, amount = (to, received) if received is not None else ("?", amount)
            destinations.append((address, amount, address in addresses if ours is None else ours))
        spends.append(
            Spend(
                txid=raw["txid"],
                sources=tuple(raw["sources"]),
                destinations=tuple(destinations),
                fee=raw["fee"],
                confirmations=raw["confirmations"],
            )
        )
    return spends


def payout_proofs(wallet: MasterWallet) -> dict[str, tuple[str, str]]:
    rows = Payout.objects.filter(source_account__master_wallet=wallet).exclude(tx_key="")
    return {p.txid: (p.tx_key, p.address) for p in rows.only("txid", "tx_key", "address")}


def _account_key(wallet: MasterWallet) -> str:
    return adapter(wallet.chain).account_key


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
    voided = {txid: p for p in Payout.objects.filter(chain=wallet.chain) for txid in p.voided_txids}
    on_node: set[str] = set()
    for spend in spends:
        books.spends += 1
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
    return on_node


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
        if payout.state in SPENT_STATES:
            booked_out[payout.source_account_id] += payout.spent_amount
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


# --- proof figures -----------------------------------------------------------------------


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
