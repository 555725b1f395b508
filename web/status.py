"""The live status of a swap or an escrow order, as its checkout page shows it and polls it.

Built from the order selectors only (payments, payouts); nothing here writes. Amounts are
base units (strings) with their display form beside them, as in the API. Every kind's
status (an invoice's too, web.invoice_status) has the keys of ``status_fields``, which the
status box and checkout.js read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from exchange.money import to_display
from funding.models import FundedOrder, FundingState
from funding.selectors import Payment, payment, payouts_of
from orders.models import EscrowOrder, OrderState
from swaps.models import SwapOrder, SwapState
from swaps.selectors import swap_amount_to
from wallets.chains import coin
from wallets.models import OwnerKind, Payout, PayoutKind, PayoutState

SWAP_STEPS = ("Deposit seen", "Deposit confirmed", "Sent", "Completed")
ORDER_STEPS = ("Payment seen", "Escrowed", "Paid out", "Completed")
SWAP_FINAL_STATES = frozenset({FundingState.COMPLETED, FundingState.REFUNDED})
ORDER_FINAL_STATES = frozenset(
    {FundingState.COMPLETED, FundingState.REFUNDED, OrderState.CANCELLED}
)
SENT_STATES = frozenset({PayoutState.RELAYED, PayoutState.CONFIRMED})
# What a status says: (label, detail, tone, step).
Words = tuple[str, str, str, int]
# Awaiting a deposit past the deadline (the sweep has not expired it yet).
OVERDUE: Words = (
    "Expired",
    "The time to pay has passed: do not send anything to this address.",
    "error",
    0,
)


def confirmations_needed(currency: str, required: int) -> int:
    """The confirmations a deposit waits for, the coin's unlock included (Monero's 10)."""
    return max(required, coin(currency).unlock_blocks)


def seconds_left(expires_at: datetime, now: datetime) -> int:
    return max(0, int((expires_at - now).total_seconds()))


def money(amount: int, currency: str) -> str:
    return f"{to_display(amount, currency)} {currency}"


def _payout_rows(payouts: list[Payout], currency: str) -> list[dict]:
    return [
        {
            "kind": p.kind,
            "state": p.state,
            "amount": str(p.amount),
            "amount_display": to_display(p.amount, currency),
            "network_fee": str(p.network_fee),
            "txid": p.txid,
            "confirmations": p.confirmations,
        }
        for p in payouts
    ]


def confirming(confirmations: int, needed: int) -> tuple[str, str]:
    if confirmations == 0:
        return "Seen in the mempool", f"Confirmations 0/{needed}: waiting for the next block."
    return "Confirming", f"Confirmations {confirmations}/{needed}."


@dataclass(frozen=True)
class _Basis:
    """What a status is read from."""

    now: datetime
    paid: Payment
    payouts: list[Payout]
    needed: int  # the confirmations the deposits wait for
    confirmations: int  # the least confirmed live deposit's, at most ``needed``
    overdue: bool


def _basis(owner: FundedOrder, now: datetime | None, *, due: int = 0) -> _Basis:
    now = now or timezone.now()
    paid = payment(owner, due=due)
    needed = confirmations_needed(owner.deposit_currency, owner.confirmations_required)
    return _Basis(
        now=now,
        paid=paid,
        payouts=payouts_of(owner),
        needed=needed,
        confirmations=min(paid.confirmations, needed),
        overdue=owner.state == FundingState.AWAITING_DEPOSIT and now > owner.expires_at,
    )


# Per owner kind: the states after which nothing changes, and the currency of its payouts.
FINAL_STATES = {OwnerKind.ORDER: ORDER_FINAL_STATES, OwnerKind.SWAP: SWAP_FINAL_STATES}
PAYOUT_CURRENCY = {
    OwnerKind.ORDER: lambda order: order.currency,
    OwnerKind.SWAP: lambda swap: swap.to_currency,
}


def status_fields(
    *,
    kind: str,
    state: str,
    words: Words,
    confirmations: int,
    needed: int,
    seen: int,
    seen_currency: str,
    expires_in: int | None,
    expired: bool,
    final: bool,
    payable: bool,
    closed: bool,
    payouts: list[dict],
    **extra,
) -> dict:
    """The keys every status has, and ``extra``'s. ``payable``: the page shows the QR
    code and asks for a payment; ``closed``: nothing more may be paid to the address."""
    label, detail, tone, step = words
    return {
        "kind": kind,
        "state": state,
        "label": label,
        "detail": detail,
        "tone": tone,
        "step": step,
        "confirmations": confirmations,
        "confirmations_required": needed,
        "seen": str(seen),
        "seen_display": to_display(seen, seen_currency),
        **extra,
        "expires_in": expires_in,
        "expired": expired,
        "final": final,
        "payable": payable,
        "closed": closed,
        "payouts": payouts,
    }


def _status(owner: FundedOrder, basis: _Basis, words: Words, **extra) -> dict:
    """A swap's or an order's status: it can be paid while it awaits its deposit."""
    waiting = owner.state == FundingState.AWAITING_DEPOSIT
    expired = basis.overdue or owner.state == FundingState.EXPIRED
    return status_fields(
        kind=owner.OWNER_KIND,
        state=owner.state,
        words=words,
        confirmations=basis.confirmations,
        needed=basis.needed,
        seen=basis.paid.seen,
        seen_currency=owner.deposit_currency,
        **extra,
        expires_in=seconds_left(owner.expires_at, basis.now) if waiting else None,
        expired=expired,
        final=owner.state in FINAL_STATES[owner.OWNER_KIND],
        payable=waiting and not expired,
        closed=expired,
        payouts=_payout_rows(basis.payouts, PAYOUT_CURRENCY[owner.OWNER_KIND](owner)),
    )


# What the page says in each state whose words depend on nothing else:
# (label, detail, tone, step).
SWAP_WORDS = {
    SwapState.EXCHANGING: ("Exchanging", "Your deposit is confirmed.", "progress", 2),
    FundingState.REFUNDING: (
        "Refunding",
        "Your deposit is being sent back to your refund address.",
        "progress",
        2,
    ),
    FundingState.EXPIRED: (
        "Expired",
        "This swap expired before a deposit arrived: do not send anything to it.",
        "error",
        0,
    ),
    FundingState.ON_HOLD: (
        "On hold",
        "The network took your deposit's confirmation back (a reorganisation). "
        "The swap waits until it is confirmed again; our staff have been told.",
        "error",
        2,
    ),
    FundingState.FAILED: (
        "Failed",
        "The payout was refused by the node. Our staff have been told and will retry it.",
        "error",
        2,
    ),
}
ORDER_WORDS = {
    OrderState.ESCROWED: (
        "Escrowed",
        "The payment is held in escrow until the buyer releases it.",
        "progress",
        2,
    ),
    OrderState.RELEASING: (
        "Releasing",
        "The payment is on its way to the vendor.",
        "progress",
        2,
    ),
    FundingState.COMPLETED: ("Completed", "The payout has confirmed.", "done", 4),
    FundingState.REFUNDING: (
        "Refunding",
        "The payment is on its way back to the buyer.",
        "progress",
        3,
    ),
    FundingState.REFUNDED: ("Refunded", "The payment was sent back to the buyer.", "done", 4),
    OrderState.SPLITTING: (
        "Splitting",
        "Staff split the payment; payouts on their way.",
        "progress",
        3,
    ),
    FundingState.EXPIRED: (
        "Expired",
        "This order was not paid in time: do not send anything to it.",
        "error",
        0,
    ),
    OrderState.CANCELLED: (
        "Cancelled",
        "This order was cancelled: do not send anything to it.",
        "error",
        0,
    ),
    FundingState.ON_HOLD: (
        "On hold",
        "The network took the payment's confirmation back (a reorganisation). "
        "Nothing moves until it is confirmed again; staff have been told.",
        "error",
        2,
    ),
    FundingState.FAILED: (
        "Failed",
        "A payout was refused by the node. Staff have been told and will retry it.",
        "error",
        2,
    ),
}


def _in_transaction(txid: str, then: str) -> str:
    return f" in transaction {txid}{then}" if txid else "."


def swap_status(swap: SwapOrder, *, now: datetime | None = None) -> dict:
    """The status of a swap: ``state`` (the stored state), ``label`` and ``detail`` (what
    the page says), ``tone``, ``step`` (of SWAP_STEPS done), ``confirmations``/
    ``confirmations_required``, ``expires_in`` (seconds, while waiting for the deposit),
    ``expired``, ``final`` (nothing will change any more), ``action_required`` and
    ``payouts``."""
    basis = _basis(swap, now)
    payout = next((p for p in basis.payouts if p.kind == PayoutKind.SWAP), None)
    refund = next((p for p in basis.payouts if p.kind == PayoutKind.REFUND), None)
    receive = money(swap_amount_to(swap), swap.to_currency)
    state = swap.state

    if basis.overdue:
        words = OVERDUE
    elif state == FundingState.AWAITING_DEPOSIT:
        sent = money(swap.amount_from, swap.from_currency)
        words = ("Waiting for your deposit", f"Send exactly {sent} to the address.", "waiting", 0)
    elif state == FundingState.CONFIRMING:
        words = (*confirming(basis.confirmations, basis.needed), "progress", 1)
    elif state == SwapState.SENDING and payout and payout.state in SENT_STATES:
        detail = f"{receive} sent in transaction {payout.txid}; waiting for it to confirm."
        words = ("Sent", detail, "progress", 3)
    elif state == SwapState.SENDING:
        words = ("Sending", f"Your {receive} are on their way.", "progress", 2)
    elif state == FundingState.COMPLETED:
        txid = payout.txid if payout else ""
        detail = f"{receive} sent to your address" + _in_transaction(txid, ".")
        words = ("Completed", detail, "done", 4)
    elif state == SwapState.ACTION_REQUIRED:
        detail = (
            f"{swap.action_reason}. Continue at the current rate, or have your deposit "
            "refunded (less the network fee)."
        )
        words = ("Action required", detail, "warning", 2)
    elif state == FundingState.REFUNDED:
        txid = refund.txid if refund else ""
        detail = "Your deposit was sent back to your refund address" + _in_transaction(txid, ".")
        words = ("Refunded", detail, "done", 4)
    else:
        words = SWAP_WORDS.get(state, SWAP_WORDS[FundingState.FAILED])

    choice = {"reason": swap.action_reason, "choices": ["accept", "refund"]}
    return _status(
        swap, basis, words, action_required=choice if state == SwapState.ACTION_REQUIRED else None
    )


def order_status(order: EscrowOrder, *, now: datetime | None = None) -> dict:
    """The status of an escrow order, with the same keys as ``swap_status`` (its steps
    are ORDER_STEPS; ``missing`` is what the order still lacks)."""
    basis = _basis(order, now, due=order.amount)
    paid = basis.paid
    sent = next((p for p in basis.payouts if p.state in SENT_STATES), None)
    state = order.state

    if basis.overdue:
        words = OVERDUE
    elif state == FundingState.AWAITING_DEPOSIT and paid.seen:
        detail = f"{money(paid.missing, order.currency)} still missing."
        words = ("Partly paid", detail, "warning", 0)
    elif state == FundingState.AWAITING_DEPOSIT:
        due = money(order.amount, order.currency)
        words = ("Waiting for payment", f"Send exactly {due} to the address.", "waiting", 0)
    elif state == FundingState.CONFIRMING:
        words = (*confirming(basis.confirmations, basis.needed), "progress", 1)
    elif state == OrderState.DISPUTED:
        detail = f"Staff will decide. Reason given: {order.dispute_reason}"
        words = ("Disputed", detail, "warning", 2)
    elif state == OrderState.RELEASED:
        then = "; waiting for it to confirm."
        detail = "Sent to the vendor" + _in_transaction(sent.txid if sent else "", then)
        words = ("Sent", detail, "progress", 3)
    else:
        words = ORDER_WORDS.get(state, ORDER_WORDS[FundingState.FAILED])

    missing = {
        "missing": str(paid.missing),
        "missing_display": to_display(paid.missing, order.currency),
    }
    return _status(order, basis, words, **missing, action_required=None)
