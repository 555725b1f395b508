"""Deposits: what counts as paid and in time, the escrow they fund, and the refunds of
what the buyer paid beyond it."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from funding.models import EventKind, FundingState
from funding.services import (
    apply_deposits,
    confirmations_required,
    deposits_credit,
    extras_ready,
    hand_over,
    paid_in_time,
    pay,
    post,
    ready_batch,
)
from funding.states import note, transition
from orders.models import EscrowOrder, OrderState
from orders.services.escrow.common import _buyer, _escrow
from wallets.models import Deposit, PayoutKind


def _due(order: EscrowOrder) -> int:
    """What counts as paid: the amount less the underpayment the settings tolerate."""
    return order.amount - settings.ORDER_UNDERPAY_TOLERANCE[order.currency]


def _seen_in_time(order: EscrowOrder, live: list[Deposit]) -> bool:
    return paid_in_time(live, due=_due(order), deadline=order.expires_at)


def order_apply_deposits(*, order_id: int) -> EscrowOrder:
    """Bring the order in line with its account's deposits. Safe to run twice."""
    return apply_deposits(EscrowOrder, order_id, _apply)


def _apply(order: EscrowOrder, live: list[Deposit]) -> None:
    due = _due(order)
    seen = sum(d.amount for d in live)
    if order.state == FundingState.AWAITING_DEPOSIT and _seen_in_time(order, live):
        transition(order, FundingState.CONFIRMING, data={"seen": str(seen)})
    if order.state == FundingState.CONFIRMING:
        ready = ready_batch(live, currency=order.currency, due=due)
        if ready:
            _escrow_deposits(order, ready)
        elif seen < due:
            transition(order, FundingState.AWAITING_DEPOSIT, reason="a deposit vanished")
        else:
            _show_confirmations_needed(order, live)
    if order.state not in (FundingState.AWAITING_DEPOSIT, FundingState.CONFIRMING):
        # Paid after the order was escrowed, expired or closed: it is the buyer's, once
        # it has the confirmations its own size needs.
        for deposit in extras_ready(live, currency=order.currency):
            _credit_to_buyer(order, deposit)
    _queue_owed_refunds(order)


def _show_confirmations_needed(order: EscrowOrder, live: list[Deposit]) -> None:
    """What the order now waits for follows what arrived (an overpayment needs more)."""
    needed = max(
        confirmations_required(currency=order.currency, amount=order.amount),
        confirmations_required(currency=order.currency, amount=sum(d.amount for d in live)),
    )
    if needed != order.confirmations_required:
        EscrowOrder.objects.filter(id=order.id).update(confirmations_required=needed)
        order.confirmations_required = needed


def _escrow_deposits(order: EscrowOrder, ready: list[Deposit]) -> None:
    credited = deposits_credit(ready)
    if not credited:
        return
    total = sum(d.amount for d in credited)
    escrowed = min(total, order.amount)
    excess = total - escrowed
    now = timezone.now()
    needed = confirmations_required(currency=order.currency, amount=total)
    event = transition(
        order,
        OrderState.ESCROWED,
        data={"credited": str(total), "escrowed": str(escrowed), "excess": str(excess)},
        escrowed_amount=escrowed,
        escrowed_at=now,
        confirmations_required=needed,
    )
    post(
        order,
        currency=order.currency,
        legs=[(_escrow(order), escrowed), (_buyer(order), excess), ("deposits", -total)],
        memo="deposits credited",
        wallet_account=order.account,
    )
    hand_over(
        order,
        currency=order.currency,
        from_party=_buyer(order),
        to_party=_escrow(order),
        amount=escrowed,
        reason="deposit",
        event_id=event.id,
    )
    if excess:
        note(order, kind=EventKind.OVERPAID, data={"excess": str(excess)})


def _credit_to_buyer(order: EscrowOrder, deposit: Deposit) -> None:
    reason = (
        "late deposit"
        if order.state in (FundingState.EXPIRED, OrderState.CANCELLED)
        else "extra deposit"
    )
    if not deposits_credit([deposit]):
        return
    Deposit.objects.filter(id=deposit.id).update(
        flagged=True, flag_reason=f"{reason}: refunded to the buyer"
    )
    post(
        order,
        currency=order.currency,
        legs=[(_buyer(order), deposit.amount), ("deposits", -deposit.amount)],
        memo=f"{reason} {deposit.txid}:{deposit.output_key}",
        wallet_account=order.account,
    )
    note(
        order,
        kind=EventKind.LATE_DEPOSIT,
        data={"deposit": deposit.id, "amount": str(deposit.amount)},
    )


def _queue_owed_refunds(order: EscrowOrder) -> None:
    """Refund every excess or late deposit owed to the buyer, once the address is known."""
    owed = []
    if order.escrowed_at and order.escrowed_amount:
        credited = Deposit.objects.filter(
            account_id=order.account_id, credited_at__lte=order.escrowed_at
        ).values_list("amount", flat=True)
        excess = sum(credited) - order.escrowed_amount
        if excess > 0:
            owed.append((PayoutKind.EXCESS, "excess", excess))
    late = Deposit.objects.filter(account_id=order.account_id, credited_at__isnull=False)
    if order.escrowed_at:
        late = late.filter(credited_at__gt=order.escrowed_at)
    elif order.state not in (FundingState.EXPIRED, OrderState.CANCELLED):
        late = late.none()
    for deposit in late:
        owed.append((PayoutKind.LATE_REFUND, f"late:{deposit.id}", deposit.amount))
    if not owed:
        return
    if not order.refund_address:
        if not order.events.filter(kind=EventKind.REFUND_OWED_NO_ADDRESS).exists():
            note(
                order,
                kind=EventKind.REFUND_OWED_NO_ADDRESS,
                reason="the buyer must set a refund address",
            )
        return
    for kind, key, amount in owed:
        pay(
            order,
            key,
            address=order.refund_address,
            amount=amount,
            kind=kind,
            ledger_from=_buyer(order),
        )
