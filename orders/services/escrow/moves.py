"""Release, refund, dispute, split and cancel: the escrow moved to the vendor, the buyer
or both."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from exchange.errors import ApplicationError
from funding.fees import platform_fee
from funding.models import FundingState
from funding.services import pay_share
from funding.states import StateConflict, transition
from orders.models import HELD_STATES, EscrowOrder, OrderState
from orders.selectors import vendor_payout_address
from orders.services.escrow.common import (
    OrderPermissionDenied,
    _as_approved,
    _authorize,
    _buyer,
    _escrow,
    _lock,
    _vendor,
)
from staff.models import StaffAction, StaffApproval
from wallets.models import Deposit, PayoutKind

if TYPE_CHECKING:
    from staff.services.authorize import Person


def order_release(
    *, order_id: int, actor: Person, reason: str = "", approval: StaffApproval | None = None
) -> EscrowOrder:
    """Escrow → vendor (the buyer, or staff). One caller wins; the rest get 409."""
    with transaction.atomic():
        order = _lock(order_id)
        staff = actor.pk != order.buyer_id
        if staff:
            if not getattr(actor, "is_staff", False):
                raise OrderPermissionDenied("only the buyer or staff releases an order")
            _authorize(order, actor, StaffAction.RELEASE, approval)
        allowed = HELD_STATES if staff else {OrderState.ESCROWED}
        address = vendor_payout_address(vendor_id=order.vendor_id, currency=order.currency)
        if not address:
            raise ApplicationError("the vendor has no payout address", field="vendor")
        _as_approved(order, approval, address)
        event = transition(
            order, OrderState.RELEASING, allowed_from=allowed, actor=actor, reason=reason
        )
        _pay_vendor(
            order,
            order.escrowed_amount,
            address,
            key=PayoutKind.RELEASE,
            event_id=event.id,
            actor=actor,
        )
    return order


def _pay_vendor(
    order: EscrowOrder, share: int, address: str, *, key: str, event_id: int, actor: Person
) -> None:
    fee = platform_fee(share, order.fee_bps, order.currency)
    _pay_out(order, share, fee, _vendor(order), "vendor", address, key, event_id, actor)


def _pay_buyer(order: EscrowOrder, share: int, *, key: str, event_id: int, actor: Person) -> None:
    _pay_out(order, share, 0, _buyer(order), "buyer", order.refund_address, key, event_id, actor)


def _pay_out(
    order: EscrowOrder,
    share: int,
    fee: int,
    party: str,
    who: str,
    address: str,
    key: str,
    event_id: int,
    actor: Person,
) -> None:
    pay_share(
        order,
        currency=order.currency,
        holder=_escrow(order),
        share=share,
        fee=fee,
        party=party,
        who=who,
        address=address,
        key=key,
        event_id=event_id,
        actor=actor,
    )


def order_refund(
    *, order_id: int, actor: Person, reason: str = "", approval: StaffApproval | None = None
) -> EscrowOrder:
    """Escrow → buyer (the vendor, or staff). Needs the buyer's refund address."""
    with transaction.atomic():
        order = _lock(order_id)
        staff = actor.pk != order.vendor_id
        if staff:
            if not getattr(actor, "is_staff", False):
                raise OrderPermissionDenied("only the vendor or staff refunds an order")
            _authorize(order, actor, StaffAction.REFUND, approval)
        if not order.refund_address:
            raise ApplicationError(
                "the buyer has not set a refund address yet", field="refund_address"
            )
        _as_approved(
            order,
            approval,
            vendor_payout_address(vendor_id=order.vendor_id, currency=order.currency),
        )
        allowed = HELD_STATES if staff else {OrderState.ESCROWED}
        event = transition(
            order, FundingState.REFUNDING, allowed_from=allowed, actor=actor, reason=reason
        )
        _pay_buyer(
            order, order.escrowed_amount, key=PayoutKind.REFUND, event_id=event.id, actor=actor
        )
    return order


def order_dispute(*, order_id: int, actor: Person, reason: str) -> EscrowOrder:
    """The buyer or the vendor stops the escrow until staff decide."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("say what is wrong", field="reason")
    with transaction.atomic():
        order = _lock(order_id)
        if actor.pk not in (order.buyer_id, order.vendor_id):
            raise OrderPermissionDenied("only the buyer or the vendor opens a dispute")
        transition(
            order, OrderState.DISPUTED, actor=actor, reason=reason, dispute_reason=reason[:500]
        )
    return order


def order_split(
    *,
    order_id: int,
    actor: Person,
    vendor_amount: int,
    buyer_amount: int,
    reason: str,
    approval: StaffApproval | None = None,
) -> EscrowOrder:
    """Staff resolve a dispute with a payout to each side (the platform fee applies to
    the vendor's share)."""
    if vendor_amount < 0 or buyer_amount < 0:
        raise ApplicationError("shares cannot be negative", field="vendor_amount")
    with transaction.atomic():
        order = _lock(order_id)
        _authorize(order, actor, StaffAction.SPLIT, approval)
        if vendor_amount + buyer_amount != order.escrowed_amount:
            raise ApplicationError(
                f"the shares must add up to the escrowed {order.escrowed_amount}",
                field="vendor_amount",
            )
        if buyer_amount and not order.refund_address:
            raise ApplicationError(
                "the buyer has not set a refund address yet", field="refund_address"
            )
        address = vendor_payout_address(vendor_id=order.vendor_id, currency=order.currency)
        if vendor_amount and not address:
            raise ApplicationError("the vendor has no payout address", field="vendor")
        _as_approved(order, approval, address)
        event = transition(
            order,
            OrderState.SPLITTING,
            allowed_from={OrderState.DISPUTED},
            actor=actor,
            reason=reason,
            data={"vendor_amount": str(vendor_amount), "buyer_amount": str(buyer_amount)},
        )
        if vendor_amount:
            _pay_vendor(
                order,
                vendor_amount,
                address,
                key=PayoutKind.SPLIT_VENDOR,
                event_id=event.id,
                actor=actor,
            )
        if buyer_amount:
            _pay_buyer(
                order, buyer_amount, key=PayoutKind.SPLIT_BUYER, event_id=event.id, actor=actor
            )
    return order


def order_cancel(
    *, order_id: int, actor: Person, reason: str, approval: StaffApproval | None = None
) -> EscrowOrder:
    """Staff cancel an order nobody has paid yet; later deposits are refunded."""
    with transaction.atomic():
        order = _lock(order_id)
        _authorize(order, actor, StaffAction.CANCEL, approval, amount=0)
        if Deposit.objects.filter(account_id=order.account_id, dropped=False).exists():
            raise StateConflict(f"order {order.id} has deposits; it cannot be cancelled")
        transition(
            order,
            OrderState.CANCELLED,
            allowed_from={FundingState.AWAITING_DEPOSIT},
            actor=actor,
            reason=reason,
            closed_at=timezone.now(),
        )
    return order
