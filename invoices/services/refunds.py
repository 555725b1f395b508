"""Refunds of invoices, as Greenfield's pull payments: the store asks for one
(``refund_create``), the customer claims it with their own address (``refund_claim``),
and it is paid once, after a second staff member's approval above the threshold of the
approval rules (``refund_approved``; ``refund_rejected`` gives the money back).

A refund is paid only from money the engine still holds of the invoice, from the deposit
account of the prompt it was paid through:

- the customer's, while the prompt waits (``paid``: an invoice expired, invalid, paid
  late, or settled to a store with no payout address);
- the merchant's balance as that prompt credited it, for a store that settles to a
  balance.

An invoice whose money was paid to the store's address is not refundable here: the engine
holds none of it. When the store asks, the amount moves from its source to the refund's
own ledger account (``Refund.holder``), so two refunds never spend the same money, and
what a waiting prompt holds beyond the refund is the store's at once (``to_store``).

Locks: the invoice, then its prompts (as everywhere in invoices.services); a refund's
row, then its prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from exchange.errors import ApplicationError, ConflictError, NotFoundError
from funding.models import EventKind, FundingState
from funding.services import address_checked, lock, pay, post
from funding.services.deposits import deposits_locked, vanished
from funding.states import StateConflict, note, transition
from invoices.models import (
    REFUND_TRANSITIONS,
    AdditionalStatus,
    Invoice,
    InvoiceStatus,
    PaymentPrompt,
    PromptState,
    Refund,
    RefundState,
    RefundVariant,
)
from invoices.selectors import balance_shares
from invoices.services.create import method_id
from invoices.services.payments import merchant_account, payer_account, to_store
from ownership.models import LedgerBalance
from rates.selectors import rate_convert
from staff.models import StaffAction
from staff.services.approvals import Stake, approval_hold, move_register
from staff.services.authorize import needs_approval
from stores.models import Settlement
from wallets.chains.registry import coin
from wallets.models import OwnerKind, PayoutKind

if TYPE_CHECKING:
    from staff.models import StaffApproval
    from staff.services.authorize import Person

# Invoices a store may refund (BTCPay's ``CanRefund``): money may be held of them.
REFUNDABLE_STATUSES = frozenset(
    {InvoiceStatus.SETTLED, InvoiceStatus.EXPIRED, InvoiceStatus.INVALID}
)
# Prompt states whose payer's money (``customer:prompt:{id}``) may be refunded: waiting, or
# refunding already (a second refund, or a deposit credited after the first).
PAYER_REFUNDABLE = frozenset({PromptState.PAID, FundingState.REFUNDING, FundingState.REFUNDED})


class NonRefundable(ApplicationError):
    """The invoice cannot be refunded (whatever the request says)."""

    code = "non_refundable"


def non_refundable(message: str = "Cannot refund this invoice") -> NonRefundable:
    return NonRefundable(message)


@dataclass(frozen=True)
class RefundAsk:
    """What a store asks (Greenfield's ``RefundInvoiceRequest``)."""

    variant: str
    payment_method: str = ""  # BTC-CHAIN or XMR-CHAIN (any of their names); "" the first
    subtract_percentage: Decimal = Decimal(0)
    custom_amount: Decimal | None = None
    custom_currency: str = ""
    name: str = ""
    description: str = ""


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def refund_amount(
    ask: RefundAsk,
    *,
    paid: int,
    due: int,
    decimals: int,
    coin_code: str,
    invoice_currency: str,
    rate_then: Decimal,
    rate_now: Callable[[str], Decimal],
    overpaid: bool,
) -> int:
    """Base units the refund pays, before the cap of what is held, rounded down: the
    customer is never refunded more than the variant says.

    ``paid`` and ``due`` are the prompt's, in base units; ``rate_then`` the prompt's locked
    rate and ``rate_now(currency)`` today's (both: that currency per whole coin)."""
    variant = ask.variant
    if variant != RefundVariant.CUSTOM and (ask.custom_amount is not None or ask.custom_currency):
        field = "customAmount" if ask.custom_amount is not None else "customCurrency"
        raise ApplicationError(
            f"{field} should only be set if the refundVariant is Custom", field=field
        )
    if not Decimal(0) <= ask.subtract_percentage <= Decimal(100):
        raise ApplicationError(
            "Percentage must be a numeric value between 0 and 100", field="subtractPercentage"
        )
    if variant == RefundVariant.RATE_THEN:
        amount = paid
    elif variant == RefundVariant.CURRENT_RATE:
        amount = _floor(Decimal(paid) * rate_then / rate_now(invoice_currency))
    elif variant == RefundVariant.OVERPAID:
        if not overpaid:
            raise ApplicationError("Invoice is not overpaid", field="refundVariant")
        amount = paid - due
    elif variant == RefundVariant.CUSTOM:
        if ask.custom_amount is None or ask.custom_amount <= 0:
            raise ApplicationError("Amount must be greater than 0", field="customAmount")
        currency = ask.custom_currency.strip().upper()
        if not currency:
            raise ApplicationError("Invalid currency", field="customCurrency")
        units = ask.custom_amount * 10**decimals
        amount = _floor(units if currency == coin_code else units / rate_now(currency))
    else:
        raise ApplicationError(
            f"must be one of {', '.join(RefundVariant.values)}", field="refundVariant"
        )
    if ask.subtract_percentage:
        amount = _floor(Decimal(amount) * (100 - ask.subtract_percentage) / 100)
    return amount


def _rate_now(coin_code: str) -> Callable[[str], Decimal]:
    def rate(currency: str) -> Decimal:
        try:
            return rate_convert(price=1, currency=currency, coin=coin_code).rate
        except ApplicationError as exc:
            if exc.field == "currency":
                raise ApplicationError(exc.message, field="customCurrency") from exc
            raise

    return rate


def _held(currency: str, account: str) -> int:
    row = LedgerBalance.objects.filter(currency=currency, account=account).first()
    return row.balance if row else 0


def backed(prompt: PaymentPrompt) -> None:
    """Refuse (409) while a credited deposit of the prompt is off the chain (a reorg): the
    money a refund would pay is not there until it is back in a block. The prompt is
    locked by the caller; its deposits are locked here, as applying them does."""
    if prompt.state == FundingState.ON_HOLD or vanished(deposits_locked(prompt)):
        raise ConflictError(
            "a payment of this invoice left the chain; try again once it is back in a block"
        )


def _source(prompt: PaymentPrompt, settlement: str) -> tuple[str, int]:
    """Where the refund's money comes from, and how much of it this prompt's deposit
    account holds there."""
    payer = payer_account(prompt)
    held = _held(prompt.currency, payer)
    if held > 0 and prompt.state in PAYER_REFUNDABLE:
        return payer, held
    if settlement == Settlement.BALANCE and prompt.state == FundingState.COMPLETED:
        merchant = merchant_account(prompt)
        share = balance_shares(
            owner_id=prompt.store_owner_id, currency=prompt.currency, prompt_id=prompt.id
        ).get(prompt.id, 0)
        return merchant, min(share, _held(prompt.currency, merchant))
    raise non_refundable(
        "the invoice's money was paid to the store's address: the engine holds none of it"
        if prompt.state in (PromptState.SETTLING, FundingState.COMPLETED)
        else "nothing paid to this invoice is held to refund"
    )


def _prompt_of(prompts: list[PaymentPrompt], payment_method: str) -> PaymentPrompt:
    """The prompt of ``payment_method``; without one, the first that was paid (or the
    first of all, when none was)."""
    if not payment_method:
        paid = [prompt for prompt in prompts if prompt.received_amount]
        return (paid or prompts)[0]
    code = method_id(payment_method).removesuffix("-CHAIN")
    for prompt in prompts:
        if prompt.currency == code:
            return prompt
    raise ApplicationError(
        "Please select one of the payment methods which were available for the original invoice",
        field="payoutMethodId",
    )


def refund_create(*, invoice_id: int, ask: RefundAsk, actor: Person | None = None) -> Refund:
    """The store's refund of an invoice, its amount set aside from its source now."""
    if not ask.variant:
        raise ApplicationError("`refundVariant` is mandatory", field="refundVariant")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("store").get(id=invoice_id)
        prompts = list(
            PaymentPrompt.objects.select_for_update().filter(invoice=invoice).order_by("id")
        )
        if invoice.status not in REFUNDABLE_STATUSES:
            raise non_refundable()
        prompt = _prompt_of(prompts, ask.payment_method)
        backed(prompt)
        code = prompt.currency
        amount = refund_amount(
            ask,
            paid=prompt.received_amount,
            due=prompt.due,
            decimals=coin(code).decimals,
            coin_code=code,
            invoice_currency=invoice.currency,
            rate_then=prompt.rate,
            rate_now=_rate_now(code),
            overpaid=invoice.additional_status == AdditionalStatus.PAID_OVER,
        )
        source, held = _source(prompt, invoice.store.settlement)
        if amount > held:
            raise ApplicationError(
                f"the refund would be {amount} base units of {code}; {held} are held to refund",
                field="customAmount" if ask.variant == RefundVariant.CUSTOM else "refundVariant",
            )
        least = settings.ORDER_MIN_AMOUNT[code]
        if amount < least:
            raise ApplicationError(
                f"{amount} base units of {code} is too little to pay: a refund pays at least"
                f" {least} (ORDER_MIN_AMOUNT_{code})",
                field="customAmount" if ask.variant == RefundVariant.CUSTOM else "refundVariant",
            )
        refund = Refund.objects.create(
            invoice=invoice,
            prompt=prompt,
            name=(ask.name or f"Refund {invoice.public_id}")[:100],
            description=ask.description,
            variant=ask.variant,
            subtract_percentage=ask.subtract_percentage,
            currency=code,
            amount=amount,
            source=source,
        )
        post(
            prompt,
            currency=code,
            legs=[(source, -amount), (refund.holder, amount)],
            memo=f"refund {refund.public_id} set aside",
            actor=actor,
        )
        data = {"refund": refund.public_id, "amount": amount, "source": source}
        if prompt.state == PromptState.PAID:
            event = transition(prompt, FundingState.REFUNDING, actor=actor, data=data)
            rest = held - amount
            if rest:
                to_store(
                    prompt,
                    rest,
                    key=f"{PayoutKind.SETTLE}:refund:{refund.id}",
                    event_id=event.id,
                    memo=f"what refund {refund.public_id} leaves, to the merchant",
                )
        else:
            note(prompt, kind=EventKind.REFUND, actor=actor, reason="asked for", data=data)
    return refund


def _refund_move(refund: Refund, to_state: str) -> None:
    """The one place a refund changes state: by its table, on its locked row."""
    if to_state not in REFUND_TRANSITIONS[refund.state]:
        raise StateConflict(f"refund {refund.public_id} is {refund.state}")
    refund.state = to_state
    refund.save(
        update_fields=["state", "address", "claimed_at", "approval", "payout", "updated_at"]
    )


def _locked(refund_id: int | None = None, *, public_id: str = "") -> Refund:
    rows = Refund.objects.select_for_update()
    refund = (rows.filter(id=refund_id) if refund_id else rows.filter(public_id=public_id)).first()
    if refund is None:
        raise NotFoundError("refund not found")
    return refund


def refund_claim(*, public_id: str, address: str) -> Refund:
    """The customer claims the refund to their own address, once: it is paid now, or,
    above the approval threshold, when a second staff member approves it."""
    with transaction.atomic():
        refund = _locked(public_id=public_id)
        if refund.state == RefundState.CANCELLED:
            raise ConflictError("the store cancelled this refund", field="address")
        if refund.state != RefundState.OPEN:
            raise ConflictError("this refund was claimed already", field="address")
        refund.address = address_checked(refund.currency, address, "address")
        refund.claimed_at = timezone.now()
        prompt = lock(PaymentPrompt, refund.prompt_id)
        backed(prompt)
        if needs_approval(currency=refund.currency, amount=_claimed_in_window(refund)):
            refund.approval = approval_hold(
                action=StaffAction.INVOICE_REFUND,
                owner_kind=OwnerKind.PROMPT,
                owner_id=prompt.id,
                requested_by=prompt.store_owner,
                reason=f"refund {refund.public_id} of invoice {refund.invoice.public_id} claimed",
                params={"refund_id": refund.id},
                stake=_stake_of(refund, prompt),
            )
            _refund_move(refund, RefundState.AWAITING_APPROVAL)
            return refund
        _pay(refund, prompt)
    return refund


# Claims paid without approval add up over this window: above the threshold together, the
# next one waits for staff, so a key cannot pay out many refunds each below it.
APPROVAL_WINDOW = timedelta(hours=24)


def _claimed_in_window(refund: Refund) -> int:
    """This claim with the store's others in the coin paid without approval in the
    window: what the approval threshold is held against."""
    since = timezone.now() - APPROVAL_WINDOW
    earlier = Refund.objects.filter(
        invoice__store_id=refund.invoice.store_id,
        currency=refund.currency,
        state=RefundState.PAYING,
        approval__isnull=True,
        claimed_at__gte=since,
    ).aggregate(total=Sum("amount"))["total"]
    return refund.amount + int(earlier or 0)


def _pay(refund: Refund, prompt: PaymentPrompt, *, actor: Person | None = None) -> None:
    """Pay the claim once. The amount goes back to its source and the payout takes it
    from there, so what the transaction leaves in the account (a Monero proposal that pays
    a little less) is the source's again, not a closed refund's."""
    post(
        prompt,
        currency=refund.currency,
        legs=[(refund.holder, -refund.amount), (refund.source, refund.amount)],
        memo=f"refund {refund.public_id} claimed",
        actor=actor,
    )
    refund.payout = pay(
        prompt,
        f"{PayoutKind.REFUND}:{refund.id}",
        address=refund.address,
        amount=refund.amount,
        kind=PayoutKind.REFUND,
        ledger_from=refund.source,
        actor=actor,
    )
    _refund_move(refund, RefundState.PAYING)
    note(
        prompt,
        kind=EventKind.REFUND,
        actor=actor,
        reason="claimed and paid",
        data={"refund": refund.public_id, "payout": refund.payout.id, "address": refund.address},
    )


def _stake_of(refund: Refund, prompt: PaymentPrompt) -> Stake:
    return Stake(refund.currency, refund.amount, False, prompt.parties, [refund.address])


def _refund_stake(prompt: PaymentPrompt, action: str, params: dict) -> Stake:
    refund = Refund.objects.filter(id=int(params.get("refund_id") or 0), prompt=prompt).first()
    if refund is None:
        raise NotFoundError(f"no refund {params.get('refund_id')} of prompt {prompt.id}")
    return _stake_of(refund, prompt)


def refund_approved(
    *, refund_id: int, actor: Person, approval: StaffApproval | None = None
) -> Refund:
    """A second staff member approved the claim: it is paid (once) now."""
    with transaction.atomic():
        refund = _locked(refund_id)
        if refund.state != RefundState.AWAITING_APPROVAL or approval is None:
            raise StateConflict(f"refund {refund.public_id} is {refund.state}")
        if refund.approval_id != approval.id:
            raise StateConflict(f"approval {approval.id} is not this refund's")
        prompt = lock(PaymentPrompt, refund.prompt_id)
        backed(prompt)
        _pay(refund, prompt, actor=actor)
    return refund


def refund_rejected(approval: StaffApproval) -> Refund:
    """Staff refused the claim (or it went stale): the refund is closed and its money
    goes back to where it was set aside from."""
    with transaction.atomic():
        refund = _locked(approval.params.get("refund_id"))
        if refund.approval_id != approval.id:
            raise StateConflict(f"approval {approval.id} is not this refund's")
        _give_back(
            refund,
            RefundState.REJECTED,
            actor=approval.decided_by,
            reason=approval.decision_reason or "rejected",
            approval=approval.id,
        )
    return refund


def _give_back(
    refund: Refund, to_state: str, *, actor: Person | None, reason: str, **data: object
) -> None:
    """Close the refund unpaid: its money goes back to where it was set aside from."""
    prompt = lock(PaymentPrompt, refund.prompt_id)
    _refund_move(refund, to_state)
    post(
        prompt,
        currency=refund.currency,
        legs=[(refund.holder, -refund.amount), (refund.source, refund.amount)],
        memo=f"refund {refund.public_id} {to_state}: back to {refund.source}",
        actor=actor,
    )
    note(
        prompt,
        kind=EventKind.REFUND,
        actor=actor,
        reason=reason,
        data={"refund": refund.public_id, **data},
    )


def refund_cancel(*, refund_id: int, actor: Person | None = None) -> Refund:
    """The store withdraws a refund nobody claimed yet (Greenfield: archives the pull
    payment): its money goes back to where it was set aside from. Once claimed, it is the
    customer's (paid, or waiting for staff, who may reject it)."""
    with transaction.atomic():
        refund = _locked(refund_id)
        if refund.state != RefundState.OPEN:
            raise ConflictError(f"refund {refund.public_id} was claimed already")
        _give_back(refund, RefundState.CANCELLED, actor=actor, reason="cancelled by the store")
    return refund


def _approved_move(
    owner_id: int, actor: Person, reason: str, params: dict, approval: StaffApproval | None
) -> Refund:
    return refund_approved(refund_id=params["refund_id"], actor=actor, approval=approval)


def register_approvals() -> None:
    """The refund's move in the staff approvals (called when the app is ready)."""
    move_register(
        OwnerKind.PROMPT,
        StaffAction.INVOICE_REFUND,
        move=_approved_move,
        stake=_refund_stake,
        rejected=refund_rejected,
    )
