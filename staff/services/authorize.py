"""Staff moving money on someone else's order or swap: the action's own permission, and
a second staff member's approval above ``STAFF_APPROVAL_ABOVE`` or for any new address.

Every service a staff member moves money through calls ``staff_authorize`` inside its
transaction, so the admin, the API and the commands meet the same rule; the approval
itself is asked for and given through ``staff.services.approvals``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from exchange.errors import ApplicationError
from staff.models import ApprovalState, StaffAction, StaffApproval

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    # Who takes an action: a signed-in user, or a request's anonymous one.
    Person = User | AnonymousUser

PERMISSION_OF: dict[str, str] = {
    StaffAction.RELEASE: "staff.release_escrow",
    StaffAction.REFUND: "staff.refund_escrow",
    StaffAction.SPLIT: "staff.split_escrow",
    StaffAction.CANCEL: "staff.cancel_order",
    StaffAction.REFUND_ADDRESS: "staff.change_refund_address",
    StaffAction.RETRY_PAYOUT: "staff.retry_payout",
    StaffAction.SWAP_REFUND: "staff.refund_swap",
}
APPROVE_PERMISSION = "staff.approve_money_move"
# A refund a customer claimed is asked for in the store's name, never by staff: deciding
# it takes the approve permission alone.
PERMISSION_OF[StaffAction.INVOICE_REFUND] = APPROVE_PERMISSION


class StaffPermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"


class ApprovalRequired(ApplicationError):
    status_code = 403
    code = "approval_required"


def staff_may(actor: Person | None, action: str) -> bool:
    return bool(
        actor is not None
        and getattr(actor, "is_active", False)
        and getattr(actor, "is_staff", False)
        and actor.has_perm(PERMISSION_OF[action])
    )


def needs_approval(
    *, currency: str, amount: int, address_change: bool = False, party: bool = False
) -> bool:
    """A second staff member is needed above the threshold, for a new address, and for
    any move by staff who are themselves a party to the order or swap."""
    return address_change or party or amount > settings.STAFF_APPROVAL_ABOVE[currency]


def staff_authorize(
    *,
    actor: Person,
    action: str,
    owner_kind: str,
    owner_id: int,
    currency: str,
    amount: int,
    address_change: bool = False,
    parties: tuple = (),
    approval: StaffApproval | None = None,
) -> None:
    """Raise unless ``actor`` may take ``action`` on the order or swap now: with the
    permission, and, where one is needed, an approval given by someone else for exactly
    this move and amount (``approval`` is passed by ``approval_decide`` only)."""
    if not staff_may(actor, action):
        raise StaffPermissionDenied(
            f"to {StaffAction(action).label} takes staff with the {PERMISSION_OF[action]}"
            " permission"
        )
    if not needs_approval(
        currency=currency,
        amount=amount,
        address_change=address_change,
        party=actor.pk in parties,
    ):
        return
    if approval is None:
        raise ApprovalRequired(
            f"to {StaffAction(action).label} ({'a new address' if address_change else amount})"
            " takes a second staff member's approval: ask for it in the admin"
        )
    if not (
        approval.state == ApprovalState.EXECUTED
        and approval.action == action
        and approval.owner_kind == owner_kind
        and approval.owner_id == owner_id
        and approval.requested_by_id == actor.pk
        and approval.decided_by_id not in (None, actor.pk)
    ):
        raise ApprovalRequired(f"approval {approval.id} is not for this move")
    if approval.amount != amount:
        raise ApprovalRequired(
            f"approval {approval.id} was for {approval.amount}; the move is now {amount}: ask again"
        )
