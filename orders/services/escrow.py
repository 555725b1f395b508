"""Escrow orders: create, credit deposits, release, refund, dispute, split, expire.

What every funded order shares (the row lock, deposits credited once, confirmations,
expiry, following payouts, retries) is the core's (``funding``); what is here is escrow's
own. Every state change goes through ``funding.states.transition`` inside one
transaction that also writes the ledger postings, the ownership transfers and the
payout rows; tasks and Redis writes happen after commit. No node is called here.

Ledger accounts (per currency): ``deposits`` is credited with what came in;
``escrow:order:{id}`` holds the escrow; ``vendor:{id}``/``buyer:{id}`` what is owed to
them; ``platform:fees``; ``payout:{id}`` in flight; ``sent`` and ``network:fees`` once out.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from exchange.errors import ApplicationError
from funding.fees import platform_fee, platform_fee_bps
from funding.models import EventKind
from funding.services import (
    account_assign,
    accounts_retire_closed,
    address_checked,
    advance,
    apply_deposits,
    authorize,
    confirmations_required,
    deposits_credit,
    expire_due,
    extras_ready,
    hand_over,
    lock,
    paid_in_time,
    pay,
    post,
    ready_batch,
)
from funding.states import StateConflict, note, transition
from orders.models import (
    HELD_STATES,
    TERMINAL_ORDER_STATES,
    Currency,
    EscrowOrder,
    OrderState,
    StaffAction,
    StaffApproval,
)
from orders.selectors import vendor_payout_address
from wallets.models import Deposit, PayoutKind

logger = logging.getLogger(__name__)


class OrderPermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"


# --- helpers -------------------------------------------------------------------------


def _escrow(order: EscrowOrder) -> str:
    return f"escrow:order:{order.id}"


def _buyer(order: EscrowOrder) -> str:
    return f"buyer:{order.buyer_id}"


def _vendor(order: EscrowOrder) -> str:
    return f"vendor:{order.vendor_id}"


def _authorize(
    order: EscrowOrder,
    actor,
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


# --- create --------------------------------------------------------------------------


def _unpaid_limit(buyer) -> None:
    """At most ORDER_BUYER_MAX_UNPAID orders awaiting a deposit per buyer: each one holds
    a deposit account for good. The buyer's row is locked so that concurrent requests
    of one buyer are counted one after the other."""
    limit = settings.ORDER_BUYER_MAX_UNPAID
    if not limit:
        return
    get_user_model().objects.select_for_update().filter(pk=buyer.pk).first()
    unpaid = EscrowOrder.objects.filter(buyer=buyer, state=OrderState.AWAITING_DEPOSIT)
    if unpaid.count() >= limit:
        raise ApplicationError(
            f"at most {limit} orders awaiting a deposit at a time: pay one, cancel one or"
            " let one expire first",
            status_code=429,
            code="client_limit",
            extra={"limit": limit},
        )


def order_create(
    *,
    buyer,
    vendor_username: str,
    currency: str,
    amount: int,
    description: str = "",
    refund_address: str = "",
) -> EscrowOrder:
    """Create an order and hand it a deposit account from the pool (zero node calls)."""
    if currency not in Currency.values:
        raise ApplicationError(f"unknown currency {currency!r}", field="currency")
    low, high = settings.ORDER_MIN_AMOUNT[currency], settings.ORDER_MAX_AMOUNT[currency]
    if not low <= amount <= high:
        raise ApplicationError(f"must be between {low} and {high} base units", field="amount")
    vendor = get_user_model().objects.filter(username=vendor_username, is_active=True).first()
    if vendor is None:
        raise ApplicationError("no such vendor", field="vendor")
    if vendor.pk == buyer.pk:
        raise ApplicationError("a buyer cannot buy from themselves", field="vendor")
    if not vendor_payout_address(vendor_id=vendor.pk, currency=currency):
        raise ApplicationError(f"the vendor has no {currency} payout address", field="vendor")
    if refund_address:
        refund_address = address_checked(currency, refund_address, "refund_address")
    fee_bps = platform_fee_bps()
    with transaction.atomic():
        _unpaid_limit(buyer)
        order = EscrowOrder.objects.create(
            buyer=buyer,
            vendor=vendor,
            currency=currency,
            amount=amount,
            fee_bps=fee_bps,
            fee_amount=platform_fee(amount, fee_bps),
            description=description,
            refund_address=refund_address,
            confirmations_required=confirmations_required(currency=currency, amount=amount),
            expires_at=timezone.now() + timedelta(seconds=settings.ORDER_EXPIRY_SECONDS),
        )
        account_assign(order)
        note(order, kind=EventKind.CREATED, actor=buyer, data={"amount": str(amount)})
    return order


def order_set_refund_address(
    *,
    order_id: int,
    actor,
    refund_address: str,
    reason: str = "",
    approval: StaffApproval | None = None,
) -> EscrowOrder:
    """The buyer sets where refunds go (staff only with a second staff member's
    approval); owed refunds are queued at once."""
    with transaction.atomic():
        order = _lock(order_id)
        address = address_checked(order.currency, refund_address, "refund_address")
        if actor.pk != order.buyer_id:
            if not getattr(actor, "is_staff", False):
                raise OrderPermissionDenied("only the buyer sets the refund address")
            _authorize(
                order,
                actor,
                StaffAction.REFUND_ADDRESS,
                approval,
                amount=order.amount,
                address_change=True,
            )
        previous = order.refund_address
        EscrowOrder.objects.filter(id=order.id).update(refund_address=address)
        order.refund_address = address
        note(
            order,
            kind=EventKind.REFUND_ADDRESS,
            actor=actor,
            reason=reason,
            data={"refund_address": address, "previous": previous},
        )
        _queue_owed_refunds(order)
    return order


# --- deposits ------------------------------------------------------------------------


def _due(order: EscrowOrder) -> int:
    """What counts as paid: the amount less the underpayment the settings tolerate."""
    return order.amount - settings.ORDER_UNDERPAY_TOLERANCE[order.currency]


def _seen_in_time(order: EscrowOrder, live: list[Deposit]) -> bool:
    return paid_in_time(live, due=_due(order), deadline=order.expires_at)


def order_apply_deposits(*, order_id: int) -> EscrowOrder:
    """Bring the order in line with its account's deposits. Safe to run twice."""
    return apply_deposits(EscrowOrder, order_id, _apply)


def _apply(order: EscrowOrder, live: list[Deposit]) -> None:
    due = _due(order)
    seen = sum(d.amount for d in live)
    if order.state == OrderState.AWAITING_DEPOSIT and _seen_in_time(order, live):
        transition(order, OrderState.CONFIRMING, data={"seen": str(seen)})
    if order.state == OrderState.CONFIRMING:
        ready = ready_batch(live, currency=order.currency, due=due)
        if ready:
            _escrow_deposits(order, ready)
        elif seen < due:
            transition(order, OrderState.AWAITING_DEPOSIT, reason="a deposit vanished")
        else:
            _show_confirmations_needed(order, live)
    if order.state not in (OrderState.AWAITING_DEPOSIT, OrderState.CONFIRMING):
        # Paid after the order was escrowed, expired or closed: it is the buyer's, once
        # it has the confirmations its own size needs.
        for deposit in extras_ready(live, currency=order.currency):
            _credit_to_buyer(order, deposit)
    _queue_owed_refunds(order)


def _show_confirmations_needed(order: EscrowOrder, live: list[Deposit]) -> None:
    """What the order now waits for follows what arrived (an overpayment needs more)."""
    needed = max(
        confirmations_required(currency=order.currency, amount=order.amount),
        confirmations_required(currency=order.currency, amount=sum(d.amount for d in live)),
    )
    if needed != order.confirmations_required:
        EscrowOrder.objects.filter(id=order.id).update(confirmations_required=needed)
        order.confirmations_required = needed


def _escrow_deposits(order: EscrowOrder, ready: list[Deposit]) -> None:
    credited = deposits_credit(ready)
    if not credited:
        return
    total = sum(d.amount for d in credited)
    escrowed = min(total, order.amount)
    excess = total - escrowed
    now = timezone.now()
    needed = confirmations_required(currency=order.currency, amount=total)
    event = transition(
        order,
        OrderState.ESCROWED,
        data={"credited": str(total), "escrowed": str(escrowed), "excess": str(excess)},
        escrowed_amount=escrowed,
        escrowed_at=now,
        confirmations_required=needed,
    )
    post(
        order,
        currency=order.currency,
        legs=[(_escrow(order), escrowed), (_buyer(order), excess), ("deposits", -total)],
        memo="deposits credited",
        wallet_account=order.account,
    )
    hand_over(
        order,
        currency=order.currency,
        from_party=_buyer(order),
        to_party=_escrow(order),
        amount=escrowed,
        reason="deposit",
        event_id=event.id,
    )
    if excess:
        note(order, kind=EventKind.OVERPAID, data={"excess": str(excess)})


def _credit_to_buyer(order: EscrowOrder, deposit: Deposit) -> None:
    reason = (
        "late deposit"
        if order.state in (OrderState.EXPIRED, OrderState.CANCELLED)
        else "extra deposit"
    )
    if not deposits_credit([deposit]):
        return
    Deposit.objects.filter(id=deposit.id).update(
        flagged=True, flag_reason=f"{reason}: refunded to the buyer"
    )
    post(
        order,
        currency=order.currency,
        legs=[(_buyer(order), deposit.amount), ("deposits", -deposit.amount)],
        memo=f"{reason} {deposit.txid}:{deposit.output_key}",
        wallet_account=order.account,
    )
    note(
        order,
        kind=EventKind.LATE_DEPOSIT,
        data={"deposit": deposit.id, "amount": str(deposit.amount)},
    )


def _queue_owed_refunds(order: EscrowOrder) -> None:
    """Refund every excess or late deposit owed to the buyer, once the address is known."""
    owed = []
    if order.escrowed_at and order.escrowed_amount:
        credited = Deposit.objects.filter(
            account_id=order.account_id, credited_at__lte=order.escrowed_at
        ).values_list("amount", flat=True)
        excess = sum(credited) - order.escrowed_amount
        if excess > 0:
            owed.append((PayoutKind.EXCESS, "excess", excess))
    late = Deposit.objects.filter(account_id=order.account_id, credited_at__isnull=False)
    if order.escrowed_at:
        late = late.filter(credited_at__gt=order.escrowed_at)
    elif order.state not in (OrderState.EXPIRED, OrderState.CANCELLED):
        late = late.none()
    for deposit in late:
        owed.append((PayoutKind.LATE_REFUND, f"late:{deposit.id}", deposit.amount))
    if not owed:
        return
    if not order.refund_address:
        if not order.events.filter(kind=EventKind.REFUND_OWED_NO_ADDRESS).exists():
            note(
                order,
                kind=EventKind.REFUND_OWED_NO_ADDRESS,
                reason="the buyer must set a refund address",
            )
        return
    for kind, key, amount in owed:
        pay(
            order,
            key,
            address=order.refund_address,
            amount=amount,
            kind=kind,
            ledger_from=_buyer(order),
        )


# --- release, refund, dispute, split ------------------------------------------------


def order_release(
    *, order_id: int, actor, reason: str = "", approval: StaffApproval | None = None
) -> EscrowOrder:
    """Escrow → vendor (the buyer, or staff). One caller wins; the rest get 409."""
    with transaction.atomic():
        order = _lock(order_id)
        staff = actor.pk != order.buyer_id
        if staff:
            if not getattr(actor, "is_staff", False):
                raise OrderPermissionDenied("only the buyer or staff releases an order")
            _authorize(order, actor, StaffAction.RELEASE, approval)
        allowed = HELD_STATES if staff else {OrderState.ESCROWED}
        address = vendor_payout_address(vendor_id=order.vendor_id, currency=order.currency)
        if not address:
            raise ApplicationError("the vendor has no payout address", field="vendor")
        event = transition(
            order, OrderState.RELEASING, allowed_from=allowed, actor=actor, reason=reason
        )
        _pay_vendor(
            order,
            order.escrowed_amount,
            address,
            key=PayoutKind.RELEASE,
            event_id=event.id,
            actor=actor,
        )
    return order


def _pay_vendor(
    order: EscrowOrder, share: int, address: str, *, key: str, event_id: int, actor
) -> None:
    fee = platform_fee(share, order.fee_bps)
    _pay_out(order, share, fee, _vendor(order), "vendor", address, key, event_id, actor)


def _pay_buyer(order: EscrowOrder, share: int, *, key: str, event_id: int, actor) -> None:
    _pay_out(order, share, 0, _buyer(order), "buyer", order.refund_address, key, event_id, actor)


def _pay_out(
    order: EscrowOrder,
    share: int,
    fee: int,
    party: str,
    who: str,
    address: str,
    key: str,
    event_id: int,
    actor,
) -> None:
    """``share`` of the escrow goes to ``party`` less ``fee`` (the platform's), in the
    books and the ownership trail, and is paid out to ``address``."""
    post(
        order,
        currency=order.currency,
        legs=[(_escrow(order), -share), (party, share - fee), ("platform:fees", fee)],
        memo=f"{key} to the {who}",
        actor=actor,
    )
    for to_party, amount in ((party, share - fee), ("platform:fees", fee)):
        if amount:
            hand_over(
                order,
                currency=order.currency,
                from_party=_escrow(order),
                to_party=to_party,
                amount=amount,
                reason=key,
                event_id=event_id,
            )
    pay(
        order,
        key,
        address=address,
        amount=share - fee,
        kind=key,
        ledger_from=party,
        actor=actor,
    )


def order_refund(
    *, order_id: int, actor, reason: str = "", approval: StaffApproval | None = None
) -> EscrowOrder:
    """Escrow → buyer (the vendor, or staff). Needs the buyer's refund address."""
    with transaction.atomic():
        order = _lock(order_id)
        staff = actor.pk != order.vendor_id
        if staff:
            if not getattr(actor, "is_staff", False):
                raise OrderPermissionDenied("only the vendor or staff refunds an order")
            _authorize(order, actor, StaffAction.REFUND, approval)
        if not order.refund_address:
            raise ApplicationError(
                "the buyer has not set a refund address yet", field="refund_address"
            )
        allowed = HELD_STATES if staff else {OrderState.ESCROWED}
        event = transition(
            order, OrderState.REFUNDING, allowed_from=allowed, actor=actor, reason=reason
        )
        _pay_buyer(
            order, order.escrowed_amount, key=PayoutKind.REFUND, event_id=event.id, actor=actor
        )
    return order


def order_dispute(*, order_id: int, actor, reason: str) -> EscrowOrder:
    """The buyer or the vendor stops the escrow until staff decide."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("say what is wrong", field="reason")
    with transaction.atomic():
        order = _lock(order_id)
        if actor.pk not in (order.buyer_id, order.vendor_id):
            raise OrderPermissionDenied("only the buyer or the vendor opens a dispute")
        transition(
            order, OrderState.DISPUTED, actor=actor, reason=reason, dispute_reason=reason[:500]
        )
    return order


def order_split(
    *,
    order_id: int,
    actor,
    vendor_amount: int,
    buyer_amount: int,
    reason: str,
    approval: StaffApproval | None = None,
) -> EscrowOrder:
    """Staff resolve a dispute with a payout to each side (the platform fee applies to
    the vendor's share)."""
    if vendor_amount < 0 or buyer_amount < 0:
        raise ApplicationError("shares cannot be negative", field="vendor_amount")
    with transaction.atomic():
        order = _lock(order_id)
        _authorize(order, actor, StaffAction.SPLIT, approval)
        if vendor_amount + buyer_amount != order.escrowed_amount:
            raise ApplicationError(
                f"the shares must add up to the escrowed {order.escrowed_amount}",
                field="vendor_amount",
            )
        if buyer_amount and not order.refund_address:
            raise ApplicationError(
                "the buyer has not set a refund address yet", field="refund_address"
            )
        address = vendor_payout_address(vendor_id=order.vendor_id, currency=order.currency)
        event = transition(
            order,
            OrderState.SPLITTING,
            allowed_from={OrderState.DISPUTED},
            actor=actor,
            reason=reason,
            data={"vendor_amount": str(vendor_amount), "buyer_amount": str(buyer_amount)},
        )
        if vendor_amount:
            _pay_vendor(
                order,
                vendor_amount,
                address,
                key=PayoutKind.SPLIT_VENDOR,
                event_id=event.id,
                actor=actor,
            )
        if buyer_amount:
            _pay_buyer(
                order, buyer_amount, key=PayoutKind.SPLIT_BUYER, event_id=event.id, actor=actor
            )
    return order


def order_cancel(
    *, order_id: int, actor, reason: str, approval: StaffApproval | None = None
) -> EscrowOrder:
    """Staff cancel an order nobody has paid yet; later deposits are refunded."""
    with transaction.atomic():
        order = _lock(order_id)
        _authorize(order, actor, StaffAction.CANCEL, approval, amount=0)
        if Deposit.objects.filter(account_id=order.account_id, dropped=False).exists():
            raise StateConflict(f"order {order.id} has deposits; it cannot be cancelled")
        transition(
            order,
            OrderState.CANCELLED,
            allowed_from={OrderState.AWAITING_DEPOSIT},
            actor=actor,
            reason=reason,
            closed_at=timezone.now(),
        )
    return order


# --- payouts moving the order on, expiry ---------------------------------------------


def order_advance(*, order_id: int) -> EscrowOrder:
    """Follow the order's payouts: relayed → released, confirmed → completed/refunded,
    failed → failed, and back from failed when the node shows the payout after all
    (the table of each is ``EscrowOrder``'s). Safe to run twice."""
    return advance(EscrowOrder, order_id)


def orders_expire(*, batch: int = 500) -> int:
    """Expire unpaid orders past their deadline; retire accounts after the watch window."""
    expired = expire_due(EscrowOrder, batch=batch, seen_in_time=_seen_in_time)
    accounts_retire_closed(EscrowOrder, closed_states=TERMINAL_ORDER_STATES, batch=batch)
    return expired
