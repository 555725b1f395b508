"""The customer's choice on a swap that needs one (go on at the current rate, or be
refunded), and staff refunds of a failed swap, whose payout is first proved absent and
voided, the exchange undone in the books (swaps.services.exchange has the rest)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from funding.models import EventKind, FundingState
from funding.services import authorize, hand_over, pay, post
from funding.states import StateConflict, note, transition
from ownership.models import LedgerEntry
from staff.models import StaffAction, StaffApproval
from staff.services.authorize import StaffPermissionDenied
from swaps.liquidity import liquidity_release
from swaps.models import SwapOrder, SwapState
from swaps.services.exchange import OWNER, _customer, _exchange_at_current_rate, _lock
from wallets.models import Payout, PayoutKind, PayoutState
from wallets.services.payouts import PayoutStateError, payout_prove_absent, payout_void

if TYPE_CHECKING:
    from staff.services.authorize import Person
    from wallets.clients.base import TxStatus

# --- the customer's choice ----------------------------------------------------------


def swap_accept(*, swap_id: int, actor: Person | None = None) -> SwapOrder:
    """action_required → exchange at the current rate."""
    with transaction.atomic():
        swap = _lock(swap_id)
        if actor is not None and actor.is_staff and actor.pk != swap.user_id:
            raise StaffPermissionDenied(
                "the customer chooses to go on; staff may only refund a swap (admin)"
            )
        if swap.state != SwapState.ACTION_REQUIRED:
            raise StateConflict(f"swap {swap.id} is {swap.state}; there is nothing to accept")
        note(swap, kind=EventKind.ACCEPTED, actor=actor, reason="continue at the current rate")
        _exchange_at_current_rate(swap)
    return swap


def _refunding_staff(swap: SwapOrder, actor: Person | None) -> Person | None:
    """``actor`` if it refunds ``swap`` as staff (not as the customer who made it), else
    None."""
    if actor is not None and actor.is_staff and actor.pk != swap.user_id:
        return actor
    return None


def swap_refund(
    *,
    swap_id: int,
    actor: Person | None = None,
    reason: str = "",
    approval: StaffApproval | None = None,
) -> SwapOrder:
    """action_required (the customer) or failed (staff) → refund what was received.

    From failed, the swap's own payout may still land (its stored bytes may be on chain,
    or be relayed by a retry): it must first be proved absent from the chain and the
    mempool, and is voided in the same transaction as the refund, which also undoes the
    exchange in the books. Otherwise the refund is refused with the reason."""
    proof: TxStatus | None = None
    found = SwapOrder.objects.filter(id=swap_id).first()
    staff = _refunding_staff(found, actor) if found is not None else None
    if found is not None and found.state == FundingState.FAILED and staff is not None:
        payout = (
            Payout.objects.select_related("source_account__master_wallet")
            .filter(owner_kind=OWNER, owner_id=swap_id, kind=PayoutKind.SWAP)
            .first()
        )
        if payout is not None and payout.state == PayoutState.FAILED:
            proof = payout_prove_absent(payout)
    with transaction.atomic():
        swap = _lock(swap_id)
        allowed: set[str] = {SwapState.ACTION_REQUIRED}
        if staff is not None:
            authorize(
                swap,
                actor=staff,
                action=StaffAction.SWAP_REFUND,
                amount=swap.received_amount,
                approval=approval,
            )
            allowed.add(FundingState.FAILED)
        if swap.state == FundingState.FAILED and staff is not None:
            _unexchange(swap, proof=proof, actor=actor, reason=reason or "staff refund")
        event = transition(
            swap,
            FundingState.REFUNDING,
            allowed_from=allowed,
            actor=actor,
            reason=reason or "the customer asked for a refund",
        )
        liquidity_release(swap_id=swap.id)
        hand_over(
            swap,
            currency=swap.from_currency,
            from_party=_customer(swap),
            to_party=f"refund:{swap.refund_address[:40]}",
            amount=swap.received_amount,
            reason="refund",
            event_id=event.id,
        )
        pay(
            swap,
            "refund",
            address=swap.refund_address,
            amount=swap.received_amount,
            kind=PayoutKind.REFUND,
            ledger_from=_customer(swap),
            actor=actor,
        )
    return swap


def _unexchange(
    swap: SwapOrder, *, proof: TxStatus | None, actor: Person | None, reason: str
) -> None:
    """A failed swap's payout is voided (proved absent by the caller) and the exchange is
    undone in the books: the deposit is the customer's again, the house gets back what it
    owed. A swap whose failed payout is a refund is retried, not refunded again."""
    payouts = {
        p.kind: p
        for p in Payout.objects.select_for_update().filter(owner_kind=OWNER, owner_id=swap.id)
    }
    if PayoutKind.REFUND in payouts:
        raise PayoutStateError(
            f"swap {swap.id} already has a refund payout ({payouts[PayoutKind.REFUND].state}); "
            "retry that payout instead"
        )
    payout = payouts.get(PayoutKind.SWAP)
    if payout is None:
        return
    if payout.state != PayoutState.FAILED or proof is None:
        raise PayoutStateError(
            f"swap {swap.id}: its payout {payout.id} is {payout.state}; it is not refunded"
        )
    payout_void(payout=payout, proof=proof, actor=actor, reason=reason)
    owed = LedgerEntry.objects.filter(
        transaction__owner_kind=OWNER,
        transaction__owner_id=swap.id,
        transaction__memo=f"swap {swap.id}: the house owes the payout",
    )
    post(
        swap,
        currency=swap.to_currency,
        legs=[(e.account, e.credit - e.debit) for e in owed],
        memo="the payout is voided, the house owes nothing",
        actor=actor,
    )
    post(
        swap,
        currency=swap.from_currency,
        legs=[(_customer(swap), swap.received_amount), ("house", -swap.received_amount)],
        memo="the deposit is the customer's again",
        actor=actor,
    )
    hand_over(
        swap,
        currency=swap.from_currency,
        from_party="house",
        to_party=_customer(swap),
        amount=swap.received_amount,
        reason="exchange undone",
    )
    note(swap, kind=EventKind.PAYOUT_VOIDED, actor=actor, reason=reason, data={"payout": payout.id})
