"""Reads of orders that combine tables (deposits, payouts, ownership)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from funding.selectors import Payment, payment
from orders.models import EscrowOrder, VendorPayoutAddress

if TYPE_CHECKING:
    from staff.services.authorize import Person


def orders_visible_to(user: Person) -> QuerySet[EscrowOrder]:
    """Staff see every order; anyone else only those they buy or sell."""
    orders = EscrowOrder.objects.select_related("buyer", "vendor", "account")
    if user.is_staff:
        return orders
    return orders.filter(Q(buyer=user) | Q(vendor=user))


def vendor_payout_address(*, vendor_id: int, currency: str) -> str:
    """Where the vendor is paid in ``currency`` ("" if they have not said)."""
    return (
        VendorPayoutAddress.objects.filter(user_id=vendor_id, currency=currency)
        .values_list("address", flat=True)
        .first()
        or ""
    )


def order_payment(order: EscrowOrder) -> Payment:
    return payment(order, due=order.amount)
