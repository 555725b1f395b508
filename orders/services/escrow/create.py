"""Creating an order, and where its refunds go."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from exchange.errors import ApplicationError
from funding.fees import platform_fee, platform_fee_bps
from funding.models import EventKind, FundingState
from funding.services import account_assign, address_checked, confirmations_required
from funding.states import note
from orders.models import Currency, EscrowOrder
from orders.selectors import vendor_payout_address
from orders.services.escrow.common import (
    OrderPermissionDenied,
    _as_approved,
    _authorize,
    _lock,
)
from orders.services.escrow.deposits import _queue_owed_refunds
from staff.models import StaffAction, StaffApproval

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from staff.services.authorize import Person


def _unpaid_limit(buyer: User) -> None:
    """At most ORDER_BUYER_MAX_UNPAID orders awaiting a deposit per buyer: each one holds
    a deposit account for good. The buyer's row is locked so that concurrent requests
    of one buyer are counted one after the other."""
    limit = settings.ORDER_BUYER_MAX_UNPAID
    if not limit:
        return
    get_user_model().objects.select_for_update().filter(pk=buyer.pk).first()
    unpaid = EscrowOrder.objects.filter(buyer=buyer, state=FundingState.AWAITING_DEPOSIT)
    if unpaid.count() >= limit:
        raise ApplicationError(
            f"at most {limit} orders awaiting a deposit at a time: pay one, cancel one or"
            " let one expire first",
            status_code=429,
            code="client_limit",
            extra={"limit": limit},
        )


def order_create(
    *,
    buyer: User,
    vendor_username: str,
    currency: str,
    amount: int,
    description: str = "",
    refund_address: str = "",
) -> EscrowOrder:
    """Create an order and hand it a deposit account from the pool (zero node calls)."""
    if currency not in Currency.values:
        raise ApplicationError(f"unknown currency {currency!r}", field="currency")
    low, high = settings.ORDER_MIN_AMOUNT[currency], settings.ORDER_MAX_AMOUNT[currency]
    if not low <= amount <= high:
        raise ApplicationError(f"must be between {low} and {high} base units", field="amount")
    vendor = get_user_model().objects.filter(username=vendor_username, is_active=True).first()
    if vendor is None:
        raise ApplicationError("no such vendor", field="vendor")
    if vendor.pk == buyer.pk:
        raise ApplicationError("a buyer cannot buy from themselves", field="vendor")
    if not vendor_payout_address(vendor_id=vendor.pk, currency=currency):
        raise ApplicationError(f"the vendor has no {currency} payout address", field="vendor")
    if refund_address:
        refund_address = address_checked(currency, refund_address, "refund_address")
    fee_bps = platform_fee_bps()
    with transaction.atomic():
        _unpaid_limit(buyer)
        order = EscrowOrder.objects.create(
            buyer=buyer,
            vendor=vendor,
            currency=currency,
            amount=amount,
            fee_bps=fee_bps,
            fee_amount=platform_fee(amount, fee_bps, currency),
            description=description,
            refund_address=refund_address,
            confirmations_required=confirmations_required(currency=currency, amount=amount),
            expires_at=timezone.now() + timedelta(seconds=settings.ORDER_EXPIRY_SECONDS),
        )
        account_assign(order)
        note(order, kind=EventKind.CREATED, actor=buyer, data={"amount": str(amount)})
    return order


def order_set_refund_address(
    *,
    order_id: int,
    actor: Person,
    refund_address: str,
    reason: str = "",
    approval: StaffApproval | None = None,
) -> EscrowOrder:
    """The buyer sets where refunds go (staff only with a second staff member's
    approval); owed refunds are queued at once."""
    with transaction.atomic():
        order = _lock(order_id)
        address = address_checked(order.currency, refund_address, "refund_address")
        if actor.pk != order.buyer_id:
            if not getattr(actor, "is_staff", False):
                raise OrderPermissionDenied("only the buyer sets the refund address")
            _authorize(
                order,
                actor,
                StaffAction.REFUND_ADDRESS,
                approval,
                amount=order.amount,
                address_change=True,
            )
            _as_approved(
                order,
                approval,
                vendor_payout_address(vendor_id=order.vendor_id, currency=order.currency),
            )
        previous = order.refund_address
        EscrowOrder.objects.filter(id=order.id).update(refund_address=address)
        order.refund_address = address
        note(
            order,
            kind=EventKind.REFUND_ADDRESS,
            actor=actor,
            reason=reason,
            data={"refund_address": address, "previous": previous},
        )
        _queue_owed_refunds(order)
    return order
