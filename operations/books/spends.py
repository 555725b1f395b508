"""What the master wallets sent, as their nodes report it, and the proofs of what a
Monero transfer paid."""

from __future__ import annotations

from dataclasses import dataclass

from wallets.chains import adapter
from wallets.models import MasterWallet, Payout, PayoutState
from wallets.nodes import client_for

SPENT_STATES = (PayoutState.RELAYED, PayoutState.CONFIRMED)


# What a transaction paid an address, once the daemon proved it: its bytes cannot change.
_PROVED: dict[tuple[str, str], int] = {}


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
