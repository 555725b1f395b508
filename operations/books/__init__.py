"""The books against the chain: one checker for the test suite, ``make proof`` and
``reconcile``.

Everything it compares starts from what the nodes hold, read in a constant number of calls
per master wallet (bitcoin: the wallet history and its unspent outputs; Monero: a refresh,
its outgoing transfers and its balances):

- every transaction the engine's wallets sent maps to exactly one payout (its stored txid),
  and every relayed or confirmed payout maps to one such transaction, paying the stored
  amount to the stored address with the stored fee. A payout's fee bump (a child spending
  its change) is its own: it spends from the payout's account, pays nobody and pays the fee
  stored. An unmapped spend is a duplicate or an out-of-band spend; a voided transaction on
  chain is a double payment;
- every account's node balance equals its deposits less what its payouts spent;
- per account, the ledger credited each deposit once and booked each payout's spend once;
- no ledger account of money held is negative;
- per currency, what the ledger says was sent and paid in fees is what the node shows.

``payments_measured`` counts, from the same node reading, the transactions that pay each
expected (account, address): what a proof figure is made of.

The package: ``report`` (what a check finds), ``spends`` (what the nodes say the wallets
sent), ``check`` (the comparisons) and ``proofs`` (the proof figures).
"""

from operations.books.check import books_check
from operations.books.proofs import payments_measured
from operations.books.report import AccountLine, ChainBooks, Finding
from operations.books.spends import SPENT_STATES, Spend, node_spends, payout_proofs

__all__ = [
    "SPENT_STATES",
    "AccountLine",
    "ChainBooks",
    "Finding",
    "Spend",
    "books_check",
    "node_spends",
    "payments_measured",
    "payout_proofs",
]
