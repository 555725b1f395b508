"""Reads of swaps that combine tables (payouts, fees)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from funding.fees import amount_after_network_fee
from funding.selectors import payouts_of
from swaps.models import SwapOrder
from wallets.models import PayoutKind

if TYPE_CHECKING:
    from staff.services.authorize import Person


def swap_amount_to(swap: SwapOrder) -> int:
    """What the customer receives: the payout less its actual fee once built, else less
    the estimated fee."""
    payout = next((p for p in payouts_of(swap) if p.kind == PayoutKind.SWAP), None)
    if payout and payout.network_fee:
        return payout.sent_amount
    return amount_after_network_fee(swap.amount_to_gross, swap.to_currency)


def swap_visible_to(user: Person, public_id: UUID) -> SwapOrder | None:
    """The swap if ``user`` may see it: its owner or staff for a swap made by a signed-in
    user; anyone holding the id of a swap made without an account (the id is the
    capability). None otherwise, or when there is no such swap."""
    swap = SwapOrder.objects.select_related("account").filter(public_id=public_id).first()
    if swap is None or (swap.user_id and not (user.is_staff or user.pk == swap.user_id)):
        return None
    return swap
