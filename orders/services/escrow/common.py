"""What every escrow action shares: its ledger accounts, where its money goes, the staff check
and the row lock."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from exchange.errors import ApplicationError
from funding.services import authorize, lock
from funding.states import StateConflict
from orders.models import EscrowOrder
from staff.models import StaffApproval

if TYPE_CHECKING:
    from staff.services.authorize import Person

logger = logging.getLogger(__name__)


class OrderPermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"


def _escrow(order: EscrowOrder) -> str:
    return f"escrow:order:{order.id}"


def _buyer(order: EscrowOrder) -> str:
    return f"buyer:{order.buyer_id}"


def _vendor(order: EscrowOrder) -> str:
    return f"vendor:{order.vendor_id}"


def order_destination(order: EscrowOrder, vendor_address: str) -> list[str]:
    """Where the order's money goes: the vendor's payout address and the buyer's refund
    address. An approval of a staff move records it, and the move runs only while it holds."""
    return [vendor_address, order.refund_address]


def _as_approved(order: EscrowOrder, approval: StaffApproval | None, vendor_address: str) -> None:
    """Refuse an approved move whose money would go elsewhere than the approver saw (an
    address changed after the approval's check; the approval can be decided again)."""
    if approval is not None and order_destination(order, vendor_address) != approval.params.get(
        "destination"
    ):
        raise StateConflict(
            f"approval {approval.id}: where the money goes changed since it was checked; ask again"
        )


def _authorize(
    order: EscrowOrder,
    actor: Person,
    action: str,
    approval: StaffApproval | None,
    *,
    amount: int | None = None,
    address_change: bool = False,
) -> None:
    """Staff move ``amount`` of the order (its escrow unless said)."""
    authorize(
        order,
        actor=actor,
        action=action,
        amount=order.escrowed_amount if amount is None else amount,
        approval=approval,
        address_change=address_change,
    )


def _lock(order_id: int) -> EscrowOrder:
    return lock(EscrowOrder, order_id)
