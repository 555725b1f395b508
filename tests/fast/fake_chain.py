"""An in-memory chain behind the adapter protocol, for the fast tier only.

It holds accounts, deposits and transactions in dictionaries and answers as an adapter
does; tests move it on (``pay``, ``mine``). The integration tier never uses it: there,
every adapter meets its real node.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from wallets.addresses import AddressCheck, address_check
from wallets.chains.base import BuiltBump, BuiltPayout, ChainRead, Sighting, TxStatus
from wallets.chains.registry import adapter, adapter_override, coin_of_chain

FEE = 1_000


def _txid(*parts) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


@dataclass
class FakeTx:
    txid: str
    account_key: str | int
    amount: int
    height: int | None = None  # None: in the mempool


@dataclass
class FakeChain:
    """One chain's node and wallet, in memory."""

    chain: str
    account_key: str = "node_name"
    labels_accounts: bool = False
    balance_counts_mempool: bool = True
    height: int = 100
    accounts: dict[str, tuple[int, str]] = field(default_factory=dict)
    deposits: list[FakeTx] = field(default_factory=list)
    sent: dict[str, FakeTx] = field(default_factory=dict)  # txid → payout tx
    relayed: set[str] = field(default_factory=set)
    labels: dict[int, str] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    stuck: set[str] = field(default_factory=set)  # txids no block takes
    conflicted: set[str] = field(default_factory=set)  # txids another spend conflicts with
    bump_fee: int = 0  # what a fee bump's child pays (0: the chain has no fee bump)
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self):
        self.coin = coin_of_chain(self.chain)

    # --- what tests do to the chain ---------------------------------------------------

    def pay(self, address: str, amount: int) -> str:
        """A customer pays ``address`` (seen in the mempool)."""
        name = next(n for n, (_, a) in self.accounts.items() if a == address)
        index = self.accounts[name][0]
        key = name if self.account_key == "node_name" else index
        tx = FakeTx(_txid("pay", address, amount, len(self.deposits)), key, amount)
        self.deposits.append(tx)
        return tx.txid

    def mine(self, blocks: int = 1) -> None:
        """Put everything in the mempool into the next block, then add ``blocks`` − 1."""
        self.height += 1
        for tx in [*self.deposits, *self.sent.values()]:
            if tx.txid in self.stuck:
                continue
            if tx.height is None and (tx in self.deposits or tx.txid in self.relayed):
                tx.height = self.height
        self.height += blocks - 1

    def confirmations(self, height: int | None) -> int:
        return 0 if height is None else self.height - height + 1

    # --- the adapter protocol ------------------------------------------------------

    def client(self, wallet):
        return self

    def wallet_defaults(self) -> dict[str, str]:
        return {"name": f"fake-{self.chain}", "network": "regtest", "endpoint": "fake"}

    def node_status(self, *, timeout: float) -> dict:
        return {
            "reachable": True,
            "height": self.height,
            "headers": self.height,
            "progress": 1.0,
            "synced": True,
        }

    def validate_address(self, address: str) -> AddressCheck:
        return address_check(
            address,
            parse=lambda a: AddressCheck(a.startswith("fake1"), network="regtest", type="fake"),
            chain=self.chain,
            configured="regtest",
        )

    def deposits_read(self, wallet, window: int, *, final: int, since=None) -> ChainRead:
        self.calls.append("deposits_read")
        sightings = []
        for tx in self.deposits:
            if tx.height is not None and tx.height < window:
                continue
            confirmations = min(self.confirmations(tx.height), final)
            sightings.append(
                Sighting(
                    account_key=tx.account_key,
                    txid=tx.txid,
                    output_key="0",
                    amount=tx.amount,
                    height=tx.height,
                    confirmations=confirmations,
                    unlocked=confirmations >= max(1, self.coin.unlock_blocks),
                )
            )
        own = {
            txid: self.confirmations(tx.height)
            for txid, tx in self.sent.items()
            if txid in self.relayed
        }
        return ChainRead(sightings=sightings, height=self.height, own_txs=own)

    def balances(self, wallet, *, refresh: bool = False) -> dict:
        self.calls.append("balances")
        totals: dict = {}
        for tx in self.deposits:
            total = totals.setdefault(tx.account_key, [0, 0])
            total[0] += tx.amount
            total[1] += tx.amount if tx.height is not None else 0
        return {key: (t[0], t[1]) for key, t in totals.items()}

    def house_account(self, wallet) -> tuple[int, str]:
        return self.account_create(wallet, "default")

    def account_create(self, wallet, name: str) -> tuple[int, str]:
        self.calls.append("account_create")
        if name not in self.accounts:
            index = 0 if name == "default" else next(self._counter)
            self.accounts[name] = (index, f"fake1{self.chain}{index:08d}")
        return self.accounts[name]

    def accounts_named(self, wallet) -> dict[str, tuple[int, str]]:
        return dict(self.accounts)

    def accounts_saved(self, wallet) -> None:
        self.calls.append("accounts_saved")

    def account_label(self, account) -> None:
        self.labels[account.account_index] = account.owner_tag

    def payout_build(self, payout) -> BuiltPayout:
        self.calls.append("payout_build")
        txid = _txid("payout", payout.id, payout.address, payout.amount, len(self.sent))
        self.sent[txid] = FakeTx(txid, payout.address, payout.amount - FEE)
        return BuiltPayout(txid=txid, raw=f"raw:{txid}", fee=FEE, sent=payout.amount - FEE)

    def payout_relay(self, payout, *, bump: bool = False) -> None:
        self.calls.append("payout_relay")
        self.relayed.add(payout.bump_txid if bump else payout.txid)

    def sent_bytes(self, wallet, txid: str) -> str | None:
        return None

    def payout_status(self, payout, *, bump: bool = False) -> TxStatus:
        if bump:
            known = payout.bump_txid in self.relayed
            return TxStatus("mempool" if known else "absent", txid=payout.bump_txid)
        if payout.txid in self.conflicted:
            return TxStatus("conflicted", evidence="spent by another", txid=payout.txid)
        tx = self.sent.get(payout.txid)
        if tx is None or payout.txid not in self.relayed:
            return TxStatus("absent", txid=payout.txid)
        if tx.height is None:
            return TxStatus("mempool", txid=payout.txid)
        return TxStatus("confirmed", self.confirmations(tx.height), txid=payout.txid)

    def payout_bump(self, payout) -> BuiltBump | None:
        self.calls.append("payout_bump")
        if not self.bump_fee:
            return None
        txid = _txid("bump", payout.txid, self.bump_fee)
        return BuiltBump(txid=txid, raw=f"raw:{txid}", fee=self.bump_fee, rate=0)

    def cache_keys(self, owner_kind: str, owner_id: int, owner_tag: str) -> dict[str, str]:
        return {
            "map": f"fake-{self.chain}:{owner_kind}:account:map",
            "meta": f"fake-{self.chain}:{owner_kind}:account:{owner_id}",
        }


@contextlib.contextmanager
def fake_chain(chain: str) -> Iterator[FakeChain]:
    """Put an in-memory chain in place of ``chain``'s adapter for the block."""
    real = adapter(chain)
    fake = FakeChain(
        chain=chain,
        account_key=real.account_key,
        labels_accounts=real.labels_accounts,
        balance_counts_mempool=real.balance_counts_mempool,
    )
    adapter_override(chain, fake)
    try:
        yield fake
    finally:
        adapter_override(chain, None)
