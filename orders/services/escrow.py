"""Escrow orders: create, credit deposits, release, refund, dispute, split, expire.

Every state change goes through ``orders.states.order_transition`` inside one
transaction that also writes the ledger postings, the ownership transfers and the
payout rows; tasks and Redis writes happen after commit. No node is called here.

Ledger accounts (per currency): ``deposits`` is credited with what came in;
``escrow:order:{id}`` holds the escrow; ``vendor:{id}``/``buyer:{id}`` what is owed to
them; ``platform:fees``; ``payout:{id}`` in flight; ``sent`` and ``network:fees`` once out.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from exchange.dispatch import enqueue
from exchange.errors import ApplicationError, NotFoundError
from orders.models import (
    HELD_STATES,
    ORDER_HOLDABLE_STATES,
    TERMINAL_ORDER_STATES,
    Currency,
    EscrowOrder,
    OrderState,
    StaffAction,
    StaffApproval,
)
from orders.selectors import vendor_payout_address
from orders.services.funding import (
    confirmations_required,
    creditable,
    deposits_credit,
    funding_follow,
    paid_in_time,
    ready_batch,
)
from orders.services.staff import staff_authorize
from orders.states import OrderConflict, order_note, order_transition
from ownership.services import ledger_post, ownership_transfer
from wallets.addresses import validate_address
from wallets.models import (
    CHAIN_OF_CURRENCY,
    CURRENCY_OF_CHAIN,
    AccountState,
    Deposit,
    Payout,
    PayoutState,
)
from wallets.services import account_retire, allocate_account
from wallets.services.payouts import payout_request, payout_retry

logger = logging.getLogger(__name__)

OWNER = "order"


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


def _check_address(currency: str, address: str, field: str) -> str:
    address = (address or "").strip()
    check = validate_address(chain=CHAIN_OF_CURRENCY[currency], address=address)
    if not check.valid:
        raise ApplicationError(f"{check.error}", field=field)
    return address


def _authorize(
    order: EscrowOrder,
    actor,
    action: str,
    approval: StaffApproval | None,
    *,
    amount: int | None = None,
    address_change: bool = False,
) -> None:
    staff_authorize(
        actor=actor,
        action=action,
        owner_kind=OWNER,
        owner_id=order.id,
        currency=order.currency,
        amount=order.escrowed_amount if amount is None else amount,
        address_change=address_change,
        parties=(order.buyer_id, order.vendor_id),
        approval=approval,
    )


def _lock(order_id: int) -> EscrowOrder:
    try:
        return EscrowOrder.objects.select_for_update().get(id=order_id)
    except EscrowOrder.DoesNotExist as exc:
        raise NotFoundError(f"order {order_id} not found") from exc


def _fee_on(order: EscrowOrder, amount: int) -> int:
    return amount * order.fee_bps // 10_000


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
        refund_address = _check_address(currency, refund_address, "refund_address")
    fee_bps = settings.PLATFORM_FEE_BPS
    with transaction.atomic():
        _unpaid_limit(buyer)
        order = EscrowOrder.objects.create(
            buyer=buyer,
            vendor=vendor,
            currency=currency,
            amount=amount,
            fee_bps=fee_bps,
            fee_amount=amount * fee_bps // 10_000,
            description=description,
            refund_address=refund_address,
            confirmations_required=confirmations_required(currency=currency, amount=amount),
            expires_at=timezone.now() + timedelta(seconds=settings.ORDER_EXPIRY_SECONDS),
        )
        order.account = allocate_account(
            chain=CHAIN_OF_CURRENCY[currency], owner_kind=OWNER, owner_id=order.id
        )
        EscrowOrder.objects.filter(id=order.id).update(account=order.account)
        order_note(order, kind="created", actor=buyer, data={"amount": str(amount)})
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
        address = _check_address(order.currency, refund_address, "refund_address")
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
        order_note(
            order,
            kind="refund_address",
            actor=actor,
            reason=reason,
            data={"refund_address": address, "previous": previous},
        )
        _queue_owed_refunds(order)
    return order


# --- deposits ------------------------------------------------------------------------


def order_apply_deposits(*, order_id: int) -> EscrowOrder:
    """Bring the order in line with its account's deposits. Safe to run twice."""
    with transaction.atomic():
        order = _lock(order_id)
        deposits = list(
            Deposit.objects.select_for_update().filter(account_id=order.account_id).order_by("id")
        )
        if funding_follow(
            order,
            owner_kind=OWNER,
            deposits=deposits,
            holdable=ORDER_HOLDABLE_STATES,
            transition=order_transition,
            note=order_note,
        ):
            return order
        live = [d for d in deposits if not d.dropped]
        tolerance = settings.ORDER_UNDERPAY_TOLERANCE[order.currency]
        due = order.amount - tolerance
        seen = sum(d.amount for d in live)

        if order.state == OrderState.AWAITING_DEPOSIT and paid_in_time(
            live, due=due, deadline=order.expires_at
        ):
            order_transition(order, OrderState.CONFIRMING, data={"seen": str(seen)})
        if order.state == OrderState.CONFIRMING:
            ready = ready_batch(live, currency=order.currency, due=due)
            if ready:
                _escrow_deposits(order, ready)
            elif seen < due:
                order_transition(order, OrderState.AWAITING_DEPOSIT, reason="a deposit vanished")
            else:
                _show_confirmations_needed(order, live)
        if order.state not in (OrderState.AWAITING_DEPOSIT, OrderState.CONFIRMING):
            # Paid after the order was escrowed, expired or closed: it is the buyer's, once
            # it has the confirmations its own size needs.
            for deposit in live:
                required = confirmations_required(currency=order.currency, amount=deposit.amount)
                if deposit.credited_at is None and creditable(
                    deposit, currency=order.currency, required=required
                ):
                    _credit_to_buyer(order, deposit)
        _queue_owed_refunds(order)
    return order


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
    event = order_transition(
        order,
        OrderState.ESCROWED,
        data={"credited": str(total), "escrowed": str(escrowed), "excess": str(excess)},
        escrowed_amount=escrowed,
        escrowed_at=now,
        confirmations_required=needed,
    )
    ledger_post(
        currency=order.currency,
        legs=[(_escrow(order), escrowed), (_buyer(order), excess), ("deposits", -total)],
        memo=f"order {order.id}: deposits credited",
        owner_kind=OWNER,
        owner_id=order.id,
        wallet_account=order.account,
    )
    ownership_transfer(
        account=order.account,
        currency=order.currency,
        from_party=_buyer(order),
        to_party=_escrow(order),
        amount=escrowed,
        reason="deposit",
        owner_kind=OWNER,
        owner_id=order.id,
        event_id=event.id,
    )
    if excess:
        order_note(order, kind="overpaid", data={"excess": str(excess)})


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
    ledger_post(
        currency=order.currency,
        legs=[(_buyer(order), deposit.amount), ("deposits", -deposit.amount)],
        memo=f"order {order.id}: {reason} {deposit.txid}:{deposit.output_key}",
        owner_kind=OWNER,
        owner_id=order.id,
        wallet_account=order.account,
    )
    order_note(
        order, kind="late_deposit", data={"deposit": deposit.id, "amount": str(deposit.amount)}
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
            owed.append(("excess", f"order_{order.id}:excess", excess))
    late = Deposit.objects.filter(account_id=order.account_id, credited_at__isnull=False)
    if order.escrowed_at:
        late = late.filter(credited_at__gt=order.escrowed_at)
    elif order.state not in (OrderState.EXPIRED, OrderState.CANCELLED):
        late = late.none()
    for deposit in late:
        owed.append(("late_refund", f"order_{order.id}:late:{deposit.id}", deposit.amount))
    if not owed:
        return
    if not order.refund_address:
        if not order.events.filter(kind="refund_owed_no_address").exists():
            order_note(
                order, kind="refund_owed_no_address", reason="the buyer must set a refund address"
            )
        return
    for kind, key, amount in owed:
        payout_request(
            key=key,
            source_account=order.account,
            address=order.refund_address,
            amount=amount,
            kind=kind,
            owner_kind=OWNER,
            owner_id=order.id,
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
        event = order_transition(
            order, OrderState.RELEASING, allowed_from=allowed, actor=actor, reason=reason
        )
        _pay_vendor(
            order, order.escrowed_amount, address, key="release", event_id=event.id, actor=actor
        )
    return order


def _pay_vendor(
    order: EscrowOrder, share: int, address: str, *, key: str, event_id: int, actor
) -> None:
    fee = _fee_on(order, share)
    ledger_post(
        currency=order.currency,
        legs=[(_escrow(order), -share), (_vendor(order), share - fee), ("platform:fees", fee)],
        memo=f"order {order.id}: {key} to the vendor",
        owner_kind=OWNER,
        owner_id=order.id,
        actor=actor,
    )
    for to_party, amount in ((_vendor(order), share - fee), ("platform:fees", fee)):
        if amount:
            ownership_transfer(
                account=order.account,
                currency=order.currency,
                from_party=_escrow(order),
                to_party=to_party,
                amount=amount,
                reason=key,
                owner_kind=OWNER,
                owner_id=order.id,
                event_id=event_id,
            )
    payout_request(
        key=f"order_{order.id}:{key}",
        source_account=order.account,
        address=address,
        amount=share - fee,
        kind=key,
        owner_kind=OWNER,
        owner_id=order.id,
        ledger_from=_vendor(order),
        actor=actor,
    )


def _pay_buyer(order: EscrowOrder, share: int, *, key: str, event_id: int, actor) -> None:
    ledger_post(
        currency=order.currency,
        legs=[(_escrow(order), -share), (_buyer(order), share)],
        memo=f"order {order.id}: {key} to the buyer",
        owner_kind=OWNER,
        owner_id=order.id,
        actor=actor,
    )
    ownership_transfer(
        account=order.account,
        currency=order.currency,
        from_party=_escrow(order),
        to_party=_buyer(order),
        amount=share,
        reason=key,
        owner_kind=OWNER,
        owner_id=order.id,
        event_id=event_id,
    )
    payout_request(
        key=f"order_{order.id}:{key}",
        source_account=order.account,
        address=order.refund_address,
        amount=share,
        kind=key,
        owner_kind=OWNER,
        owner_id=order.id,
        ledger_from=_buyer(order),
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
        event = order_transition(
            order, OrderState.REFUNDING, allowed_from=allowed, actor=actor, reason=reason
        )
        _pay_buyer(order, order.escrowed_amount, key="refund", event_id=event.id, actor=actor)
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
        order_transition(
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
        event = order_transition(
            order,
            OrderState.SPLITTING,
            allowed_from={OrderState.DISPUTED},
            actor=actor,
            reason=reason,
            data={"vendor_amount": str(vendor_amount), "buyer_amount": str(buyer_amount)},
        )
        if vendor_amount:
            _pay_vendor(
                order, vendor_amount, address, key="split_vendor", event_id=event.id, actor=actor
            )
        if buyer_amount:
            _pay_buyer(order, buyer_amount, key="split_buyer", event_id=event.id, actor=actor)
    return order


def order_cancel(
    *, order_id: int, actor, reason: str, approval: StaffApproval | None = None
) -> EscrowOrder:
    """Staff cancel an order nobody has paid yet; later deposits are refunded."""
    with transaction.atomic():
        order = _lock(order_id)
        _authorize(order, actor, StaffAction.CANCEL, approval, amount=0)
        if Deposit.objects.filter(account_id=order.account_id, dropped=False).exists():
            raise OrderConflict(f"order {order.id} has deposits; it cannot be cancelled")
        order_transition(
            order,
            OrderState.CANCELLED,
            allowed_from={OrderState.AWAITING_DEPOSIT},
            actor=actor,
            reason=reason,
            closed_at=timezone.now(),
        )
    return order


# --- payouts moving the order on ----------------------------------------------------

PAYOUT_KINDS = {
    OrderState.RELEASING: ("release",),
    OrderState.RELEASED: ("release",),
    OrderState.REFUNDING: ("refund",),
    OrderState.SPLITTING: ("split_vendor", "split_buyer"),
    OrderState.FAILED: ("release", "refund", "split_vendor", "split_buyer"),
}
# The paying state each payout kind belongs to (where a failed order goes back to).
PAYING_STATE_OF_KIND = {
    "release": OrderState.RELEASING,
    "refund": OrderState.REFUNDING,
    "split_vendor": OrderState.SPLITTING,
    "split_buyer": OrderState.SPLITTING,
}


def order_advance(*, order_id: int) -> EscrowOrder:
    """Follow the order's payouts: relayed → released, confirmed → completed/refunded,
    failed → failed, and back from failed when the node shows the payout after all.
    Safe to run twice."""
    with transaction.atomic():
        order = _lock(order_id)
        kinds = PAYOUT_KINDS.get(order.state)
        if not kinds:
            return order
        payouts = list(Payout.objects.filter(owner_kind=OWNER, owner_id=order.id, kind__in=kinds))
        states = {p.state for p in payouts}
        now = timezone.now()
        if not payouts:
            return order
        if PayoutState.FAILED in states:
            if order.state != OrderState.FAILED:
                failed = [p for p in payouts if p.state == PayoutState.FAILED]
                order_transition(
                    order,
                    OrderState.FAILED,
                    reason=failed[0].last_error,
                    data={"payouts": [p.id for p in failed]},
                )
            return order
        if order.state == OrderState.FAILED:
            live = [p for p in payouts if p.state != PayoutState.VOIDED]
            if not live:
                return order
            order_transition(
                order,
                PAYING_STATE_OF_KIND[live[0].kind],
                reason="the node shows the payout after all",
                data={"payouts": [p.id for p in live]},
            )
            states = {p.state for p in live}
        confirmed = states == {PayoutState.CONFIRMED}
        if order.state == OrderState.RELEASING and states <= {
            PayoutState.RELAYED,
            PayoutState.CONFIRMED,
        }:
            if confirmed:
                order_transition(order, OrderState.COMPLETED, closed_at=now)
            else:
                order_transition(order, OrderState.RELEASED)
        elif order.state == OrderState.RELEASED and confirmed:
            order_transition(order, OrderState.COMPLETED, closed_at=now)
        elif order.state == OrderState.REFUNDING and confirmed:
            order_transition(order, OrderState.REFUNDED, closed_at=now)
        elif order.state == OrderState.SPLITTING and confirmed:
            order_transition(order, OrderState.COMPLETED, closed_at=now)
    return order


def order_retry_payout(
    *,
    payout_id: int,
    actor,
    reason: str,
    address: str | None = None,
    approval: StaffApproval | None = None,
) -> Payout:
    """Staff put a failed payout of an order back to work; the order follows it. A new
    ``address`` is checked like a customer's, needs a second staff member's approval,
    and needs the stored transaction proved absent from the chain first
    (``payout_retry``)."""
    if not (reason or "").strip():
        raise ApplicationError("a reason is required", field="reason")
    stored = Payout.objects.filter(id=payout_id, owner_kind=OWNER).first()
    if stored is None:
        raise NotFoundError(f"payout {payout_id} of an order not found")
    if address:
        address = _check_address(CURRENCY_OF_CHAIN[stored.chain], address, "address")
    _authorize(
        EscrowOrder.objects.get(id=stored.owner_id),
        actor,
        StaffAction.RETRY_PAYOUT,
        approval,
        amount=stored.amount,
        address_change=bool(address),
    )
    payout = payout_retry(payout_id=payout_id, actor=actor, reason=reason, address=address)
    with transaction.atomic():
        order = _lock(payout.owner_id)
        back_to = PAYING_STATE_OF_KIND.get(payout.kind)
        if order.state == OrderState.FAILED and back_to:
            order_transition(order, back_to, actor=actor, reason=reason)
        else:
            order_note(
                order, kind="payout_retry", actor=actor, reason=reason, data={"payout": payout.id}
            )
    return payout


# --- periodic --------------------------------------------------------------------------


def orders_expire(*, batch: int = 500) -> int:
    """Expire unpaid orders past their deadline; retire accounts after the watch window."""
    now = timezone.now()
    expired = 0
    with transaction.atomic():
        due = list(
            EscrowOrder.objects.select_for_update(skip_locked=True)
            .filter(state=OrderState.AWAITING_DEPOSIT, expires_at__lt=now)
            .order_by("id")[:batch]
        )
        for order in due:
            live = Deposit.objects.filter(account_id=order.account_id, dropped=False)
            due_amount = order.amount - settings.ORDER_UNDERPAY_TOLERANCE[order.currency]
            if paid_in_time(live, due=due_amount, deadline=order.expires_at):
                # Seen in time but not applied yet (a lagging queue): never expired.
                transaction.on_commit(functools.partial(_apply_later, order.id))
                continue
            try:
                order_transition(
                    order, OrderState.EXPIRED, reason="not paid in time", closed_at=now
                )
                expired += 1
            except OrderConflict:
                continue
    watch = now - timedelta(seconds=settings.LATE_DEPOSIT_WATCH_SECONDS)
    done = EscrowOrder.objects.filter(
        state__in=TERMINAL_ORDER_STATES,
        closed_at__lt=watch,
        account__state=AccountState.ASSIGNED,
    ).values_list("account_id", flat=True)[:batch]
    for account_id in done:
        account_retire(account_id=account_id)
    return expired


def _apply_later(order_id: int) -> None:
    enqueue("orders.apply_deposits", order_id)


def orders_for_accounts(account_ids: list[int]) -> list[int]:
    return list(EscrowOrder.objects.filter(account_id__in=account_ids).values_list("id", flat=True))
