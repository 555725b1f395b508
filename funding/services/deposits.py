"""Deposits of a funded order: confirmations by the size of what arrived, paid in time by
when a deposit was first seen, deposits credited once each, and the hold when a credited
deposit vanishes from the chain.

No node is called here; every function runs in the caller's transaction, under the
owner's row lock (``funding.services.orders.lock``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from funding.models import EventKind, FundedOrder, FundingState
from funding.states import note, transition
from wallets.chains import coin
from wallets.models import Deposit, Payout, PayoutHold, PayoutState
from wallets.services.payouts import payouts_hold, payouts_unhold


def confirmations_required(*, currency: str, amount: int) -> int:
    """The confirmations a credit of ``amount`` needs (the settings' table by size)."""
    for limit, confirmations in coin(currency).confirmation_tiers:
        if limit is None or amount <= limit:
            return confirmations
    raise AssertionError("the confirmation table ends with a catch-all step")


def creditable(deposit: Deposit, *, currency: str, required: int) -> bool:
    """In a block with ``required`` confirmations, and spendable (Monero's unlock)."""
    if deposit.dropped or deposit.confirmations < required:
        return False
    return deposit.unlocked or not coin(currency).needs_unlock


def ready_batch(deposits: Iterable[Deposit], *, currency: str, due: int) -> list[Deposit]:
    """The fewest deposits (most confirmed first) that reach ``due`` and each have the
    confirmations their total needs; [] if none do yet. Deposits left out are extras,
    each credited later at its own size's tier."""
    live = sorted(
        (d for d in deposits if not d.dropped and d.credited_at is None),
        key=lambda d: (-d.confirmations, d.id),
    )
    batch: list[Deposit] = []
    for deposit in live:
        batch.append(deposit)
        total = sum(d.amount for d in batch)
        required = confirmations_required(currency=currency, amount=total)
        if total >= due and all(creditable(d, currency=currency, required=required) for d in batch):
            return batch
    return []


def deposits_credit(deposits: Iterable[Deposit]) -> list[Deposit]:
    """Mark each deposit credited in the conditional update that checks it is not yet
    (``credited_at IS NULL``): returns those this call credited, so a rerun credits none."""
    now = timezone.now()
    credited = []
    for deposit in deposits:
        if Deposit.objects.filter(id=deposit.id, credited_at__isnull=True).update(credited_at=now):
            deposit.credited_at = now
            credited.append(deposit)
    return credited


def reached_at(deposits: Iterable[Deposit], *, due: int) -> datetime | None:
    """When the live deposits, in the order they were first seen, reached ``due``."""
    total = 0
    for deposit in sorted((d for d in deposits if not d.dropped), key=lambda d: (d.seen_at, d.id)):
        total += deposit.amount
        if total >= due:
            return deposit.seen_at
    return None


def paid_in_time(deposits: Iterable[Deposit], *, due: int, deadline: datetime) -> bool:
    """Judged by when the deposits were first seen, not by when a (possibly lagging) task
    applies them."""
    when = reached_at(deposits, due=due)
    return when is not None and when <= deadline


def vanished(deposits: Iterable[Deposit]) -> list[Deposit]:
    """Credited deposits the chain no longer holds in a block (reorganised away, back in
    the mempool, or gone)."""
    return [d for d in deposits if d.credited_at and (d.dropped or d.height is None)]


def extras_ready(live: Iterable[Deposit], *, currency: str) -> list[Deposit]:
    """Deposits not credited yet that have the confirmations their own size needs (paid
    beyond what the order waited for, or after it stopped waiting)."""
    return [
        d
        for d in live
        if d.credited_at is None
        and creditable(
            d,
            currency=currency,
            required=confirmations_required(currency=currency, amount=d.amount),
        )
    ]


def deposits_locked(owner: FundedOrder) -> list[Deposit]:
    """Every deposit of the owner's account, row-locked, in the order they were recorded."""
    return list(
        Deposit.objects.select_for_update().filter(account_id=owner.account_id).order_by("id")
    )


def funding_follow(owner: FundedOrder, deposits: list[Deposit]) -> bool:
    """Stop what rests on a credited deposit that vanished: the owner's payouts not built
    yet are held and the owner goes ``on_hold`` (staff see it); when every credited deposit
    is back in a block, both resume. Returns True while the owner is held."""
    gone = vanished(deposits)
    payouts = Payout.objects.filter(owner_kind=owner.OWNER_KIND, owner_id=owner.id)
    if gone:
        evidence = [f"{d.txid}:{d.output_key}" for d in gone]
        reason = f"a credited deposit vanished from the chain: {', '.join(evidence)}"
        pending = list(payouts.filter(state=PayoutState.PENDING).values_list("id", flat=True))
        stopped = payouts_hold(payout_ids=pending, reason=reason, kind=PayoutHold.DEPOSIT)
        if owner.state in owner.HOLDABLE_STATES:
            transition(
                owner,
                FundingState.ON_HOLD,
                reason=reason,
                data={"deposits": evidence, "payouts_held": stopped},
                held_from=owner.state,
            )
        elif stopped:
            note(owner, kind=EventKind.PAYOUTS_HELD, reason=reason, data={"payouts": stopped})
        return True
    held = list(
        payouts.filter(state=PayoutState.HELD, hold_kind=PayoutHold.DEPOSIT).values_list(
            "id", flat=True
        )
    )
    resumed = payouts_unhold(payout_ids=held, kind=PayoutHold.DEPOSIT) if held else []
    if owner.state == FundingState.ON_HOLD:
        transition(
            owner,
            owner.held_from,
            reason="the credited deposits are back in a block",
            data={"payouts_resumed": resumed},
            held_from="",
        )
    elif resumed:
        note(owner, kind=EventKind.PAYOUTS_RESUMED, data={"payouts": resumed})
    return False
