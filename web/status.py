"""The live status of a swap or an escrow order, as its checkout page shows it and polls it.

Built from the order selectors only (payments, payouts); nothing here writes. Amounts are
base units (strings) with their display form beside them, as in the API.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from exchange.money import to_display
from orders.models import EscrowOrder, OrderState, SwapOrder, SwapState
from orders.selectors import (
    order_payment,
    order_payouts,
    swap_amount_to,
    swap_payment,
    swap_payouts,
)
from wallets.chains import coin
from wallets.models import Deposit, Payout, PayoutState

SWAP_STEPS = ("Deposit seen", "Deposit confirmed", "Sent", "Completed")
ORDER_STEPS = ("Payment seen", "Escrowed", "Paid out", "Completed")
SWAP_FINAL_STATES = frozenset({SwapState.COMPLETED, SwapState.REFUNDED})
ORDER_FINAL_STATES = frozenset({OrderState.COMPLETED, OrderState.REFUNDED, OrderState.CANCELLED})
SENT_STATES = frozenset({PayoutState.RELAYED, PayoutState.CONFIRMED})


def confirmations_needed(currency: str, required: int) -> int:
    """The confirmations a deposit waits for, the coin's unlock included (Monero's 10)."""
    return max(required, coin(currency).unlock_blocks)


def _least_confirmations(deposits: list[Deposit]) -> int:
    return min((d.confirmations for d in deposits if not d.dropped), default=0)


def _seconds_left(expires_at: datetime, now: datetime) -> int:
    return max(0, int((expires_at - now).total_seconds()))


def _money(amount: int, currency: str) -> str:
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


def _confirming(confirmations: int, needed: int) -> tuple[str, str]:
    if confirmations == 0:
        return "Seen in the mempool", f"Confirmations 0/{needed}: waiting for the next block."
    return "Confirming", f"Confirmations {confirmations}/{needed}."


def swap_status(swap: SwapOrder, *, now: datetime | None = None) -> dict:
    """The status of a swap: ``state`` (the stored state), ``label`` and ``detail`` (what
    the page says), ``tone``, ``step`` (of SWAP_STEPS done), ``confirmations``/
    ``confirmations_required``, ``expires_in`` (seconds, while waiting for the deposit),
    ``expired``, ``final`` (nothing will change any more), ``action_required`` and
    ``payouts``."""
    now = now or timezone.now()
    payment = swap_payment(swap)
    payouts = swap_payouts(swap)
    needed = confirmations_needed(swap.from_currency, swap.confirmations_required)
    confirmations = min(payment.confirmations, needed)
    payout = next((p for p in payouts if p.kind == "swap"), None)
    refund = next((p for p in payouts if p.kind == "refund"), None)
    receive = _money(swap_amount_to(swap), swap.to_currency)
    state = swap.state
    overdue = state == SwapState.AWAITING_DEPOSIT and now > swap.expires_at
    tone, step = "progress", 0

    if state == SwapState.AWAITING_DEPOSIT and overdue:
        label, tone = "Expired", "error"
        detail = "The time to pay has passed: do not send anything to this address."
    elif state == SwapState.AWAITING_DEPOSIT:
        label, tone = "Waiting for your deposit", "waiting"
        detail = f"Send exactly {_money(swap.amount_from, swap.from_currency)} to the address."
    elif state == SwapState.CONFIRMING:
        label, detail = _confirming(confirmations, needed)
        step = 1
    elif state == SwapState.EXCHANGING:
        label, detail, step = "Exchanging", "Your deposit is confirmed.", 2
    elif state == SwapState.SENDING and payout and payout.state in SENT_STATES:
        label, step = "Sent", 3
        detail = f"{receive} sent in transaction {payout.txid}; waiting for it to confirm."
    elif state == SwapState.SENDING:
        label, detail, step = "Sending", f"Your {receive} are on their way.", 2
    elif state == SwapState.COMPLETED:
        label, tone, step = "Completed", "done", 4
        detail = f"{receive} sent to your address" + (
            f" in transaction {payout.txid}." if payout and payout.txid else "."
        )
    elif state == SwapState.ACTION_REQUIRED:
        label, tone, step = "Action required", "warning", 2
        detail = (
            f"{swap.action_reason}. Continue at the current rate, or have your deposit "
            "refunded (less the network fee)."
        )
    elif state == SwapState.REFUNDING:
        label, step = "Refunding", 2
        detail = "Your deposit is being sent back to your refund address."
    elif state == SwapState.REFUNDED:
        label, tone, step = "Refunded", "done", 4
        detail = "Your deposit was sent back to your refund address" + (
            f" in transaction {refund.txid}." if refund and refund.txid else "."
        )
    elif state == SwapState.EXPIRED:
        label, tone = "Expired", "error"
        detail = "This swap expired before a deposit arrived: do not send anything to it."
    elif state == SwapState.ON_HOLD:
        label, tone, step = "On hold", "error", 2
        detail = (
            "The network took your deposit's confirmation back (a reorganisation). "
            "The swap waits until it is confirmed again; our staff have been told."
        )
    else:
        label, tone, step = "Failed", "error", 2
        detail = "The payout was refused by the node. Our staff have been told and will retry it."

    return {
        "kind": "swap",
        "state": state,
        "label": label,
        "detail": detail,
        "tone": tone,
        "step": step,
        "confirmations": confirmations,
        "confirmations_required": needed,
        "seen": str(payment.seen),
        "seen_display": to_display(payment.seen, swap.from_currency),
        "expires_in": _seconds_left(swap.expires_at, now)
        if state == SwapState.AWAITING_DEPOSIT
        else None,
        "expired": overdue or state == SwapState.EXPIRED,
        "final": state in SWAP_FINAL_STATES,
        "action_required": {"reason": swap.action_reason, "choices": ["accept", "refund"]}
        if state == SwapState.ACTION_REQUIRED
        else None,
        "payouts": _payout_rows(payouts, swap.to_currency),
    }


def order_status(order: EscrowOrder, *, now: datetime | None = None) -> dict:
    """The status of an escrow order, with the same keys as ``swap_status`` (its steps
    are ORDER_STEPS; ``missing`` is what the order still lacks)."""
    now = now or timezone.now()
    payment = order_payment(order)
    payouts = order_payouts(order)
    needed = confirmations_needed(order.currency, order.confirmations_required)
    confirmations = min(_least_confirmations(payment.deposits), needed)
    sent = next((p for p in payouts if p.state in SENT_STATES), None)
    state = order.state
    overdue = state == OrderState.AWAITING_DEPOSIT and now > order.expires_at
    tone, step = "progress", 0

    if state == OrderState.AWAITING_DEPOSIT and overdue:
        label, tone = "Expired", "error"
        detail = "The time to pay has passed: do not send anything to this address."
    elif state == OrderState.AWAITING_DEPOSIT and payment.seen:
        label, tone = "Partly paid", "warning"
        detail = f"{_money(payment.missing, order.currency)} still missing."
    elif state == OrderState.AWAITING_DEPOSIT:
        label, tone = "Waiting for payment", "waiting"
        detail = f"Send exactly {_money(order.amount, order.currency)} to the address."
    elif state == OrderState.CONFIRMING:
        label, detail = _confirming(confirmations, needed)
        step = 1
    elif state == OrderState.ESCROWED:
        label, step = "Escrowed", 2
        detail = "The payment is held in escrow until the buyer releases it."
    elif state == OrderState.DISPUTED:
        label, tone, step = "Disputed", "warning", 2
        detail = f"Staff will decide. Reason given: {order.dispute_reason}"
    elif state == OrderState.RELEASING:
        label, detail, step = "Releasing", "The payment is on its way to the vendor.", 2
    elif state == OrderState.RELEASED:
        label, step = "Sent", 3
        detail = "Sent to the vendor" + (
            f" in transaction {sent.txid}; waiting for it to confirm." if sent else "."
        )
    elif state == OrderState.COMPLETED:
        label, tone, step = "Completed", "done", 4
        detail = "The payout has confirmed."
    elif state == OrderState.REFUNDING:
        label, detail, step = "Refunding", "The payment is on its way back to the buyer.", 3
    elif state == OrderState.REFUNDED:
        label, tone, step = "Refunded", "done", 4
        detail = "The payment was sent back to the buyer."
    elif state == OrderState.SPLITTING:
        label, detail, step = "Splitting", "Staff split the payment; payouts on their way.", 3
    elif state == OrderState.EXPIRED:
        label, tone = "Expired", "error"
        detail = "This order was not paid in time: do not send anything to it."
    elif state == OrderState.CANCELLED:
        label, tone = "Cancelled", "error"
        detail = "This order was cancelled: do not send anything to it."
    elif state == OrderState.ON_HOLD:
        label, tone, step = "On hold", "error", 2
        detail = (
            "The network took the payment's confirmation back (a reorganisation). "
            "Nothing moves until it is confirmed again; staff have been told."
        )
    else:
        label, tone, step = "Failed", "error", 2
        detail = "A payout was refused by the node. Staff have been told and will retry it."

    return {
        "kind": "order",
        "state": state,
        "label": label,
        "detail": detail,
        "tone": tone,
        "step": step,
        "confirmations": confirmations,
        "confirmations_required": needed,
        "seen": str(payment.seen),
        "seen_display": to_display(payment.seen, order.currency),
        "missing": str(payment.missing),
        "missing_display": to_display(payment.missing, order.currency),
        "expires_in": _seconds_left(order.expires_at, now)
        if state == OrderState.AWAITING_DEPOSIT
        else None,
        "expired": overdue or state == OrderState.EXPIRED,
        "final": state in ORDER_FINAL_STATES,
        "action_required": None,
        "payouts": _payout_rows(payouts, order.currency),
    }
