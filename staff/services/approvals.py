"""Two-person approval of staff money moves.

Staff ask with ``approval_request``: a move that needs no approval (``needs_approval``)
runs at once; any other is stored as pending, with an audit row on the order or swap.
A second staff member with the approve permission decides with ``approval_decide``; an
approval runs the move in the same transaction, with the requester as its actor, after
the audit row that names both people and both reasons, so nothing is paid that the
trail does not explain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from exchange.errors import ApplicationError, NotFoundError
from funding.models import EventKind, FundedOrder, funded_model, funded_models
from funding.services import address_checked, retry_payout
from funding.states import StateConflict, note
from orders.models import EscrowOrder
from orders.selectors import vendor_payout_address
from orders.services import escrow
from orders.services.escrow import order_destination
from staff.models import ApprovalState, StaffAction, StaffApproval
from staff.services.authorize import (
    APPROVE_PERMISSION,
    PERMISSION_OF,
    StaffPermissionDenied,
    needs_approval,
    staff_may,
)
from swaps import services as swap_services
from swaps.models import SwapOrder
from wallets.models import CURRENCY_OF_CHAIN, OwnerKind, Payout

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from staff.services.authorize import Person


# A move: run with the owner's id, the staff member, why, the params and the approval.
Move = Callable[[int, "Person", str, dict, "StaffApproval | None"], object]


def _move(service: Callable[..., object], owner_arg: str, *names: str) -> Move:
    """A move on the owner itself: ``service(<owner_arg>=owner_id, …)``."""

    def run(
        owner_id: int, actor: Person, reason: str, params: dict, approval: StaffApproval | None
    ) -> object:
        return service(
            **{owner_arg: owner_id},
            actor=actor,
            reason=reason,
            approval=approval,
            **{name: params[name] for name in names},
        )

    return run


def _retry(
    owner_id: int, actor: Person, reason: str, params: dict, approval: StaffApproval | None
) -> Payout:
    return retry_payout(
        payout_id=params["payout_id"],
        actor=actor,
        reason=reason,
        address=params.get("address") or None,
        approval=approval,
        sent_as=params.get("sent_as") or None,
    )


MOVES: dict[tuple[str, str], Move] = {
    (OwnerKind.ORDER, StaffAction.RELEASE): _move(escrow.order_release, "order_id"),
    (OwnerKind.ORDER, StaffAction.REFUND): _move(escrow.order_refund, "order_id"),
    (OwnerKind.ORDER, StaffAction.SPLIT): _move(
        escrow.order_split, "order_id", "vendor_amount", "buyer_amount"
    ),
    (OwnerKind.ORDER, StaffAction.CANCEL): _move(escrow.order_cancel, "order_id"),
    (OwnerKind.ORDER, StaffAction.REFUND_ADDRESS): _move(
        escrow.order_set_refund_address, "order_id", "refund_address"
    ),
    (OwnerKind.SWAP, StaffAction.SWAP_REFUND): _move(swap_services.swap_refund, "swap_id"),
}


def _move_of(owner_kind: str, action: str) -> Move | None:
    """The move of ``action`` on that kind of owner; a failed payout is retried alike on
    every funded order."""
    if action == StaffAction.RETRY_PAYOUT and owner_kind in funded_models():
        return _retry
    return MOVES.get((owner_kind, action))


# The params that carry an address, checked like a customer's before anything is stored.
ADDRESS_PARAMS = ("refund_address", "address")


@dataclass(frozen=True)
class Stake:
    """What a move puts at stake: its currency and amount, whether it sends money to an
    address staff typed, the people it pays (who cannot approve it), and where the money
    goes as the books stand now (which must not change before it runs)."""

    currency: str
    amount: int
    address_change: bool
    parties: tuple
    destination: list


def _order_stake(order: EscrowOrder, action: str) -> Stake:
    amounts: dict[str, int] = {StaffAction.CANCEL: 0, StaffAction.REFUND_ADDRESS: order.amount}
    amount = amounts.get(action, order.escrowed_amount)
    destination = order_destination(
        order, vendor_payout_address(vendor_id=order.vendor_id, currency=order.currency)
    )
    address_change = action == StaffAction.REFUND_ADDRESS
    return Stake(order.currency, amount, address_change, order.parties, destination)


def _swap_stake(swap: SwapOrder, action: str) -> Stake:
    return Stake(
        swap.from_currency, swap.received_amount, False, swap.parties, [swap.refund_address]
    )


# What a move on each kind of owner puts at stake (a payout retry: that payout's); each
# takes an owner of its own kind.
STAKES: dict[str, Callable[[Any, str], Stake]] = {
    OwnerKind.ORDER: _order_stake,
    OwnerKind.SWAP: _swap_stake,
}
# What a rejected (or withdrawn, or stale) request of a move undoes, in the transaction
# that records the decision: a move that set money aside when it was asked for gives it
# back here.
REJECTIONS: dict[tuple[str, str], Callable[[StaffApproval], object]] = {}
# The stakes of the moves apps register (by owner kind and action), and those moves that
# only an app's own service asks approval for (``approval_hold``), never staff.
MOVE_STAKES: dict[tuple[str, str], Callable[[Any, str, dict], Stake]] = {}
NOT_ASKED_BY_STAFF: set[tuple[str, str]] = set()


def move_register(
    owner_kind: str,
    action: str,
    *,
    move: Move,
    stake: Callable[[Any, str, dict], Stake],
    rejected: Callable[[StaffApproval], object] | None = None,
) -> None:
    """A move that an app asks approval for in its own services (a refund a customer
    claimed), never staff: registered by the app when it is ready, so this module imports
    none of it."""
    MOVES[(owner_kind, action)] = move
    MOVE_STAKES[(owner_kind, action)] = stake
    NOT_ASKED_BY_STAFF.add((owner_kind, action))
    if rejected is not None:
        REJECTIONS[(owner_kind, action)] = rejected


def _owner(owner_kind: str, owner_id: int) -> FundedOrder:
    owner = funded_model(owner_kind)._default_manager.filter(pk=owner_id).first()
    if owner is None:
        raise NotFoundError(f"{owner_kind} {owner_id} not found")
    return owner


def _stake(action: str, owner_kind: str, owner_id: int, params: dict) -> Stake:
    owner = _owner(owner_kind, owner_id)
    if (owner_kind, action) in MOVE_STAKES:
        return MOVE_STAKES[(owner_kind, action)](owner, action, params)
    if action != StaffAction.RETRY_PAYOUT:
        return STAKES[owner_kind](owner, action)
    payout_id = params.get("payout_id")
    payout = (
        None
        if payout_id is None
        else Payout.objects.filter(id=payout_id, owner_kind=owner_kind, owner_id=owner_id).first()
    )
    if payout is None:
        raise NotFoundError(f"no payout {params.get('payout_id')} of {owner_kind} {owner_id}")
    return Stake(
        CURRENCY_OF_CHAIN[payout.chain],
        payout.amount,
        bool(params.get("address")),
        owner.parties,
        [payout.address, payout.txid],
    )


def _note(approval: StaffApproval, *, kind: str, actor: Person, reason: str, data: dict) -> None:
    note(
        _owner(approval.owner_kind, approval.owner_id),
        kind=kind,
        actor=actor,
        reason=reason,
        data={
            "approval": approval.id,
            "action": approval.action,
            "amount": str(approval.amount),
            "params": approval.params,
            **data,
        },
    )


def approval_request(
    *,
    action: str,
    owner_kind: str,
    owner_id: int,
    actor: User,
    reason: str,
    params: dict | None = None,
) -> StaffApproval | None:
    """Staff ask for a money move: it runs now when it needs no approval (None is
    returned), else it waits for a second staff member (the pending row is returned)."""
    params = dict(params or {})
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("a reason is required", field="reason")
    move = _move_of(owner_kind, action)
    if move is None or (owner_kind, action) in NOT_ASKED_BY_STAFF:
        raise ApplicationError(f"{action} is not a move on a {owner_kind}", field="action")
    if not staff_may(actor, action):
        raise StaffPermissionDenied(
            f"to {StaffAction(action).label} takes the {PERMISSION_OF[action]} permission"
        )
    stake = _stake(action, owner_kind, owner_id, params)
    for field in ADDRESS_PARAMS:
        if params.get(field):
            params[field] = address_checked(stake.currency, params[field], field)
    if not needs_approval(
        currency=stake.currency,
        amount=stake.amount,
        address_change=stake.address_change,
        party=actor.pk in stake.parties,
    ):
        move(owner_id, actor, reason, params, None)
        return None
    return approval_hold(
        action=action,
        owner_kind=owner_kind,
        owner_id=owner_id,
        requested_by=actor,
        reason=reason,
        params=params,
        stake=stake,
    )


def approval_hold(
    *,
    action: str,
    owner_kind: str,
    owner_id: int,
    requested_by: User,
    reason: str,
    params: dict,
    stake: Stake | None = None,
) -> StaffApproval:
    """Store a move as pending, with its audit row: it runs when a second staff member
    approves it (``approval_decide``). Asked by staff through ``approval_request``, or by
    an app's own service for a move nobody on staff asked for."""
    stake = stake or _stake(action, owner_kind, owner_id, params)
    params = {**params, "destination": stake.destination}
    with transaction.atomic():
        approval = StaffApproval.objects.create(
            action=action,
            owner_kind=owner_kind,
            owner_id=owner_id,
            currency=stake.currency,
            amount=stake.amount,
            params=params,
            requested_by=requested_by,
            request_reason=reason[:500],
        )
        _note(
            approval,
            kind=EventKind.APPROVAL_REQUESTED,
            actor=requested_by,
            reason=reason,
            data={},
        )
    return approval


def _stale(approval: StaffApproval, stake: Stake) -> str:
    """Why an approval can no longer run as asked ("" if it can): too old, or the amount
    or where the money goes changed since the request."""
    age = timezone.now() - approval.created_at
    if age > timedelta(hours=settings.STAFF_APPROVAL_TTL_HOURS):
        return f"expired: asked {age.total_seconds() / 3600:.0f} h ago; ask again"
    if stake.amount != approval.amount:
        return f"the amount is now {stake.amount}, not the {approval.amount} asked for; ask again"
    if stake.destination != approval.params.get("destination"):
        return "where the money goes changed since the request; ask again"
    return ""


def approval_decide(*, approval_id: int, actor: User, approve: bool, reason: str) -> StaffApproval:
    """A second staff member approves (the move runs now, in this transaction) or
    rejects a pending request; the requester may withdraw their own."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("a reason is required", field="reason")
    with transaction.atomic():
        approval = (
            StaffApproval.objects.select_for_update()
            .select_related("requested_by")
            .filter(id=approval_id)
            .first()
        )
        if approval is None:
            raise NotFoundError(f"approval {approval_id} not found")
        if approval.state != ApprovalState.PENDING:
            raise StateConflict(f"approval {approval.id} is {approval.state}")
        own = actor.pk == approval.requested_by_id
        if approve and own:
            raise StaffPermissionDenied("a move is approved by someone other than who asked")
        if not (own or (getattr(actor, "is_staff", False) and actor.has_perm(APPROVE_PERMISSION))):
            raise StaffPermissionDenied(f"deciding takes the {APPROVE_PERMISSION} permission")
        stake = _stake(approval.action, approval.owner_kind, approval.owner_id, approval.params)
        if approve and actor.pk in stake.parties:
            raise StaffPermissionDenied("a move is approved by someone it does not pay")
        stale = _stale(approval, stake) if approve else ""
        approval.state = ApprovalState.EXECUTED if approve and not stale else ApprovalState.REJECTED
        approval.decided_by = actor
        approval.decision_reason = (stale or reason)[:500]
        approval.decided_at = timezone.now()
        approval.save(update_fields=["state", "decided_by", "decision_reason", "decided_at"])
        _note(
            approval,
            kind=EventKind.APPROVED
            if approval.state == ApprovalState.EXECUTED
            else EventKind.REJECTED,
            actor=actor,
            reason=reason,
            data={
                "requested_by": approval.requested_by.get_username(),
                "request_reason": approval.request_reason,
                "decided_by": actor.get_username(),
            },
        )
        rejected = REJECTIONS.get((approval.owner_kind, approval.action))
        if approval.state == ApprovalState.REJECTED and rejected is not None:
            rejected(approval)
        if approval.state == ApprovalState.EXECUTED:
            move = _move_of(approval.owner_kind, approval.action)
            if move is None:
                raise ApplicationError(f"{approval.action} is no longer a move", field="action")
            move(
                approval.owner_id,
                approval.requested_by,
                approval.request_reason,
                approval.params,
                approval,
            )
    return approval
