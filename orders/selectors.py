"""Reads of orders that combine tables (deposits, payouts, ownership)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from orders.models import EscrowOrder, SwapOrder, VendorPayoutAddress
from ownership.models import OwnershipTransfer
from wallets.models import Deposit, Payout


def orders_visible_to(user) -> QuerySet[EscrowOrder]:
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


@dataclass(frozen=True)
class Payment:
    seen: int  # every deposit the node reports, unconfirmed included
    credited: int  # deposits counted (enough confirmations, unlocked)
    missing: int  # what the order still lacks
    deposits: list[Deposit]


def order_payment(order: EscrowOrder) -> Payment:
    deposits = list(Deposit.objects.filter(account_id=order.account_id).order_by("id"))
    live = [d for d in deposits if not d.dropped]
    seen = sum(d.amount for d in live)
    credited = sum(d.amount for d in live if d.credited_at)
    return Payment(
        seen=seen, credited=credited, missing=max(0, order.amount - seen), deposits=deposits
    )


def order_payouts(order: EscrowOrder) -> list[Payout]:
    return list(Payout.objects.filter(owner_kind="order", owner_id=order.id).order_by("id"))


def order_history(order: EscrowOrder) -> dict:
    return {
        "events": list(order.events.select_related("actor").order_by("id")),
        "ownership": list(
            OwnershipTransfer.objects.filter(owner_kind="order", owner_id=order.id).order_by("id")
        ),
    }


@dataclass(frozen=True)
class SwapPayment:
    seen: int
    credited: int
    confirmations: int  # the least confirmed live deposit's
    deposits: list[Deposit]


def swap_payment(swap) -> SwapPayment:
    deposits = list(Deposit.objects.filter(account_id=swap.account_id).order_by("id"))
    live = [d for d in deposits if not d.dropped]
    return SwapPayment(
        seen=sum(d.amount for d in live),
        credited=sum(d.amount for d in live if d.credited_at),
        confirmations=min((d.confirmations for d in live), default=0),
        deposits=deposits,
    )


def swap_payouts(swap) -> list[Payout]:
    return list(Payout.objects.filter(owner_kind="swap", owner_id=swap.id).order_by("id"))


def swap_amount_to(swap) -> int:
    """What the customer receives: the payout less its actual fee once built, else less
    the estimated fee."""
    from django.conf import settings

    payout = next((p for p in swap_payouts(swap) if p.kind == "swap"), None)
    if payout and payout.network_fee:
        return payout.sent_amount
    return max(0, swap.amount_to_gross - settings.SWAP_NETWORK_FEE[swap.to_currency])


def swap_visible_to(user, public_id) -> SwapOrder | None:
    """The swap if ``user`` may see it: its owner or staff for a swap made by a signed-in
    user; anyone holding the id of a swap made without an account (the id is the
    capability). None otherwise, or when there is no such swap."""
    swap = SwapOrder.objects.select_related("account").filter(public_id=public_id).first()
    if swap is None or (swap.user_id and not (user.is_staff or user.pk == swap.user_id)):
        return None
    return swap
