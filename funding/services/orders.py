"""The life of a funded order above its deposits: its row lock, address checks, applying
deposits, expiry, following its payouts and staff retrying one.

Each concrete model says what is its own through its class attributes (funding.models);
what it does with a credited deposit is passed in by its service module.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from exchange.dispatch import enqueue
from exchange.errors import ApplicationError, NotFoundError
from funding.models import (
    APPLY_DEPOSITS,
    EventKind,
    FundedOrder,
    FundingState,
    funded_model,
    funded_models,
)
from funding.services.deposits import deposits_locked, funding_follow
from funding.states import StateConflict, note, transition
from staff.models import StaffAction
from staff.services.authorize import staff_authorize
from wallets.addresses import validate_address
from wallets.models import (
    CHAIN_OF_CURRENCY,
    CURRENCY_OF_CHAIN,
    AccountState,
    Deposit,
    Payout,
    PayoutHold,
    PayoutState,
)
from wallets.services import account_retire, allocate_account
from wallets.services.payouts import payout_release_held, payout_retry

if TYPE_CHECKING:
    from staff.models import StaffApproval
    from staff.services.authorize import Person

Owner = TypeVar("Owner", bound=FundedOrder)


def lock(model: type[Owner], owner_id: int) -> Owner:
    """The owner's row, locked for the rest of the transaction (404 if there is none)."""
    try:
        return model._default_manager.select_for_update().get(pk=owner_id)
    except model.DoesNotExist as exc:
        raise NotFoundError(f"{model.OWNER_KIND} {owner_id} not found") from exc


def account_assign(owner: FundedOrder, **fields: Any) -> None:
    """Hand the new owner a deposit account from the pool of its currency's chain (no
    node call; 503 when the pool is empty), stored with ``fields`` in one update."""
    owner.account = allocate_account(
        chain=CHAIN_OF_CURRENCY[owner.deposit_currency],
        owner_kind=owner.OWNER_KIND,
        owner_id=owner.id,
    )
    type(owner)._default_manager.filter(pk=owner.id).update(account=owner.account, **fields)
    for field, value in fields.items():
        setattr(owner, field, value)


def address_checked(currency: str, address: str, field: str) -> str:
    """``address`` stripped, if it is one of ``currency`` on the network the engine runs;
    a 400 naming ``field`` otherwise."""
    address = (address or "").strip()
    check = validate_address(chain=CHAIN_OF_CURRENCY[currency], address=address)
    if not check.valid:
        raise ApplicationError(check.error or "invalid address", field=field)
    return address


def authorize(
    owner: FundedOrder,
    *,
    actor: Person,
    action: str,
    amount: int,
    approval: StaffApproval | None = None,
    address_change: bool = False,
    currency: str | None = None,
) -> None:
    """Raise unless staff ``actor`` may take ``action`` on ``owner`` now, moving
    ``amount`` base units of ``currency`` (its deposits' unless said): with the action's
    permission and, where the move needs one, an approval given by someone else
    (``staff.services.authorize.staff_authorize``)."""
    staff_authorize(
        actor=actor,
        action=action,
        owner_kind=owner.OWNER_KIND,
        owner_id=owner.id,
        currency=currency or owner.deposit_currency,
        amount=amount,
        address_change=address_change,
        parties=owner.parties,
        approval=approval,
    )


def for_accounts(model: type[FundedOrder], account_ids: list[int]) -> list[int]:
    """The ids of the owners of these deposit accounts."""
    return list(
        model._default_manager.filter(account_id__in=account_ids).values_list("pk", flat=True)
    )


def apply_later(model: type[FundedOrder], owner_id: int) -> None:
    enqueue(model.task(APPLY_DEPOSITS), owner_id)


def apply_deposits(
    model: type[Owner], owner_id: int, apply: Callable[[Owner, list[Deposit]], None]
) -> Owner:
    """Bring the owner in line with its account's deposits, under its row lock: first the
    hold of a vanished credited deposit (nothing else moves while it lasts), then
    ``apply(owner, live deposits)``. Safe to run twice."""
    with transaction.atomic():
        owner = lock(model, owner_id)
        deposits = deposits_locked(owner)
        if not funding_follow(owner, deposits):
            apply(owner, [d for d in deposits if not d.dropped])
    return owner


def expire_due(
    model: type[Owner],
    *,
    batch: int,
    seen_in_time: Callable[[Owner, list[Deposit]], bool],
    on_expired: Callable[[Owner], object] | None = None,
) -> int:
    """Expire owners awaiting a deposit past their deadline, but never one whose deposits
    were seen in time (a lagging queue has not applied them yet: they are applied now).
    Claimed with SKIP LOCKED, so two sweeps share the work; returns how many expired."""
    now = timezone.now()
    expired = 0
    with transaction.atomic():
        due = list(
            model._default_manager.select_for_update(skip_locked=True)
            .filter(state=FundingState.AWAITING_DEPOSIT, expires_at__lt=now)
            .order_by("id")[:batch]
        )
        for owner in due:
            live = list(Deposit.objects.filter(account_id=owner.account_id, dropped=False))
            if seen_in_time(owner, live):
                transaction.on_commit(functools.partial(apply_later, model, owner.id))
                continue
            try:
                transition(owner, FundingState.EXPIRED, reason="not paid in time", closed_at=now)
            except StateConflict:
                continue
            if on_expired is not None:
                on_expired(owner)
            expired += 1
    return expired


def accounts_retire_closed(
    model: type[FundedOrder], *, closed_states: Collection[str], batch: int
) -> None:
    """Retire the deposit accounts of owners closed (in ``closed_states``) for longer than
    the late-deposit window (LATE_DEPOSIT_WATCH_SECONDS): until then a deposit that
    arrives late is still seen, credited to its payer and refunded."""
    watch = timezone.now() - timedelta(seconds=settings.LATE_DEPOSIT_WATCH_SECONDS)
    done = model._default_manager.filter(
        state__in=closed_states, closed_at__lt=watch, account__state=AccountState.ASSIGNED
    ).values_list("account_id", flat=True)[:batch]
    for account_id in done:
        account_retire(account_id=account_id)


def advance(model: type[Owner], owner_id: int) -> Owner:
    """Follow the owner's payouts: a refused one → failed; all relayed → the state's
    ``RELAYED_TO``; all confirmed → its ``CONFIRMED_TO`` (closed); and back from failed
    to the paying state of its payout when the node shows it after all (or staff retried
    it). Safe to run twice."""
    with transaction.atomic():
        owner = lock(model, owner_id)
        kinds = model.PAYOUT_KINDS.get(owner.state)
        if not kinds:
            return owner
        payouts = list(
            Payout.objects.filter(
                owner_kind=model.OWNER_KIND, owner_id=owner.id, kind__in=kinds
            ).order_by("id")
        )
        if not payouts:
            return owner
        failed = [p for p in payouts if p.state == PayoutState.FAILED]
        if failed:
            if owner.state != FundingState.FAILED:
                transition(
                    owner,
                    FundingState.FAILED,
                    reason=failed[0].last_error,
                    data={"payouts": [p.id for p in failed]},
                )
            return owner
        if owner.state == FundingState.FAILED:
            payouts = [p for p in payouts if p.state != PayoutState.VOIDED]
            if not payouts:
                return owner
            transition(
                owner,
                model.PAYING_STATE_OF_KIND[payouts[0].kind],
                reason="the node shows the payout after all",
                data={"payouts": [p.id for p in payouts]},
            )
        states = {p.state for p in payouts}
        if states == {PayoutState.CONFIRMED} and owner.state in model.CONFIRMED_TO:
            transition(owner, model.CONFIRMED_TO[owner.state], closed_at=timezone.now())
        elif owner.state in model.RELAYED_TO and states <= {
            PayoutState.RELAYED,
            PayoutState.CONFIRMED,
        }:
            transition(owner, model.RELAYED_TO[owner.state])
    return owner


def retry_payout(
    *,
    payout_id: int,
    actor: Person,
    reason: str,
    address: str | None = None,
    approval: StaffApproval | None = None,
    sent_as: str | None = None,
) -> Payout:
    """Staff put a failed payout of a funded order back to work, or one a restore held;
    its owner follows it.

    Refused, in this order, unless: a reason is given, the payout belongs to an order or
    swap that exists, a new ``address`` is one of the payout's currency (and the payout
    is not held), ``sent_as`` is given only for a held one, the actor may retry payouts
    (holding an approval where the move needs one: a new address always does), and the
    payout is failed (``payout_retry``, which also needs the stored transaction proved
    absent from the chain before building one to a new address) or held by a restore:
    released (``payout_release_held``: it is built and sent), or recorded as the
    transaction ``sent_as`` its account sent after the backup (``payout_record_sent``:
    nothing is sent)."""

    if not (reason or "").strip():
        raise ApplicationError("a reason is required", field="reason")
    stored = Payout.objects.filter(id=payout_id, owner_kind__in=list(funded_models())).first()
    if stored is None:
        raise NotFoundError(f"payout {payout_id} of an order or swap not found")
    model = funded_model(stored.owner_kind)
    owner = model._default_manager.filter(pk=stored.owner_id).first()
    if owner is None:
        raise NotFoundError(f"{stored.owner_kind} {stored.owner_id} not found")
    currency = CURRENCY_OF_CHAIN[stored.chain]
    held = stored.state == PayoutState.HELD and stored.hold_kind == PayoutHold.RESTORE
    if held and address:
        raise ApplicationError("a payout a restore held keeps its address", field="address")
    if sent_as and not held:
        raise ApplicationError(f"payout {payout_id} is not held by a restore", field="sent_as")
    if address:
        address = address_checked(currency, address, "address")
    authorize(
        owner,
        actor=actor,
        action=StaffAction.RETRY_PAYOUT,
        amount=stored.amount,
        approval=approval,
        address_change=bool(address),
        currency=currency,
    )
    if held:
        return _held_payout_moved(owner, stored, actor=actor, reason=reason, sent_as=sent_as)
    payout = payout_retry(payout_id=payout_id, actor=actor, reason=reason, address=address)
    with transaction.atomic():
        owner = lock(model, payout.owner_id)
        back_to = model.PAYING_STATE_OF_KIND.get(payout.kind)
        if owner.state == FundingState.FAILED and back_to:
            transition(owner, back_to, actor=actor, reason=reason)
        else:
            note(
                owner,
                kind=EventKind.PAYOUT_RETRY,
                actor=actor,
                reason=reason,
                data={"payout": payout.id},
            )
    return payout


def _held_payout_moved(
    owner: FundedOrder, payout: Payout, *, actor: Person, reason: str, sent_as: str | None
) -> Payout:
    """A payout a restore held: recorded as the transaction ``sent_as`` (nothing sent), or
    released to be built and sent; the owner's history notes it."""
    from operations.payouts_after_backup import payout_record_sent  # reads the node's spends

    if sent_as:
        moved = payout_record_sent(payout_id=payout.id, txid=sent_as, actor=actor, reason=reason)
    else:
        moved = payout_release_held(payout_id=payout.id, actor=actor, reason=reason)
    with transaction.atomic():
        note(
            lock(type(owner), owner.pk),
            kind=EventKind.PAYOUT_RETRY,
            actor=actor,
            reason=reason,
            data={"payout": payout.id, "held": True, "sent_as": sent_as or ""},
        )
    return moved
