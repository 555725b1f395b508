"""What every escrow action shares: its ledger accounts, the staff check and the row lock."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from exchange.errors import ApplicationError
from funding.services import (
    authorize,
    lock,
)
from orders.models import (
    EscrowOrder,
    StaffApproval,
)

if TYPE_CHECKING:
    from orders.services.staff import Person

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
