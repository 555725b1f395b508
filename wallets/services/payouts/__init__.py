"""Payouts, exactly once.

The saga step, under the wallet's writer lock:
1. ``pending``: build and sign without relaying (bcoin ``create``, Monero ``transfer`` with
   ``do_not_relay``), store the bytes, txid, fee and amount the transaction really pays,
   commit → ``signed``;
2. ``signed``: ask the node about the stored txid first, then relay the stored bytes (again,
   on a retry; both nodes accept a repeat) until the node shows them → ``relayed``.
A retry never builds a second transaction once one is stored. An unclear answer (a lost
reply, a timeout, Monero's -4, an error this engine does not understand) is "outcome
unknown": the payout stays ``signed`` and the node is asked again. Only an understood
rejection fails a payout: an invalid destination or amount, missing funds, or inputs that
another transaction spent (``conflicted``, with the evidence). Confirmations come from the
deposit scan, which reads the same wallet history; it also finds a failed or voided
payout whose transaction is on chain after all.
"""

from wallets.services.payouts.moves import (
    payout_adopt,
    payout_enqueue,
    payout_request,
    payouts_hold,
    payouts_unhold,
)
from wallets.services.payouts.saga import (
    DEFINITIVE_BUILD_ERRORS,
    PayoutNotAccepted,
    payout_process,
    payouts_follow_relayed,
)
from wallets.services.payouts.staff import (
    NEVER_LEFT,
    PayoutStateError,
    payout_prove_absent,
    payout_record_held_sent,
    payout_release_held,
    payout_retry,
    payout_void,
    proof_match,
)
from wallets.services.payouts.tracking import (
    payout_lookup,
    payout_track_one,
    payouts_sweep,
    payouts_track,
)

__all__ = [
    "DEFINITIVE_BUILD_ERRORS",
    "NEVER_LEFT",
    "PayoutNotAccepted",
    "PayoutStateError",
    "payout_adopt",
    "payout_enqueue",
    "payout_lookup",
    "payout_process",
    "payout_prove_absent",
    "payout_record_held_sent",
    "payout_release_held",
    "payout_request",
    "payout_retry",
    "payout_track_one",
    "payout_void",
    "payouts_follow_relayed",
    "payouts_hold",
    "payouts_sweep",
    "payouts_track",
    "payouts_unhold",
    "proof_match",
]
