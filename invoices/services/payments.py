"""An invoice's payments: each prompt's deposits credited once at the confirmations the
store's policy needs; the invoice's status read from all its prompts (invoices.services.
status) under its row lock; and, once it is settled, the money of each prompt paid to
the store exactly once, less the platform's fee.

Locks are taken invoice first, then its prompts by id, wherever both are held; applying
one prompt's deposits holds that prompt only and asks for the invoice's refresh after it
commits."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from exchange.dispatch import enqueue
from exchange.errors import ApplicationError
from funding.fees import platform_fee
from funding.models import EventKind, FundingState
from funding.services import advance as funding_advance
from funding.services import (
    apply_deposits,
    creditable,
    deposits_credit,
    expire_due,
    extras_ready,
    pay_share,
    post,
)
from funding.states import note, transition
from invoices.models import (
    AdditionalStatus,
    Invoice,
    InvoiceEventType,
    InvoiceStatus,
    PaymentPrompt,
    PromptState,
)
from invoices.services.events import invoice_event
from invoices.services.status import PromptFigures, standing
from orders.selectors import vendor_payout_address
from stores.models import Settlement
from wallets.models import Deposit, PayoutKind

if TYPE_CHECKING:
    from staff.services.authorize import Person

# States where a prompt's credited money waits for the invoice to be settled.
HOLDING = frozenset({PromptState.PAID})
# States after the store was paid: a deposit then is the store's too.
SETTLED_STATES = frozenset({PromptState.SETTLING, FundingState.COMPLETED})
# States after a refund of the customer's money.
REFUNDED_STATES = frozenset({FundingState.REFUNDING, FundingState.REFUNDED})
EXPIRE_BATCH = 200


def payer_account(prompt: PaymentPrompt) -> str:
    """The ledger account of the prompt's credited money until it is the store's."""
    return f"customer:prompt:{prompt.id}"


def merchant_account(prompt: PaymentPrompt) -> str:
    """The store owner's balance (a store that settles to a balance)."""
    return f"merchant:{prompt.store_owner_id}"


# --- deposits --------------------------------------------------------------------------


def prompt_apply_deposits(*, prompt_id: int) -> PaymentPrompt:
    """Bring the prompt in line with its account's deposits, then refresh its invoice.
    Safe to run twice: each deposit is credited once."""
    prompt = apply_deposits(PaymentPrompt, prompt_id, _apply)
    transaction.on_commit(functools.partial(enqueue, "invoices.refresh", prompt.invoice_id))
    return prompt


def _apply(prompt: PaymentPrompt, live: list[Deposit]) -> None:
    if prompt.state == FundingState.AWAITING_DEPOSIT and live:
        transition(prompt, FundingState.CONFIRMING, data={"seen": sum(d.amount for d in live)})
    if prompt.state == FundingState.CONFIRMING:
        if not live:
            transition(prompt, FundingState.AWAITING_DEPOSIT, reason="the deposit vanished")
        elif all(_creditable(prompt, d) for d in live):
            _credit(prompt, live)
            transition(prompt, PromptState.PAID, data={"received": prompt.received_amount})
    elif prompt.state == FundingState.EXPIRED:
        late = [d for d in live if d.credited_at is None]
        if late and all(_creditable(prompt, d) for d in late):
            _credit(prompt, late)
            transition(prompt, PromptState.PAID, reason="paid after the invoice expired")
            note(prompt, kind=EventKind.LATE_DEPOSIT, data={"received": prompt.received_amount})
    else:
        extras = extras_ready(live, currency=prompt.currency)
        credited = _credit(prompt, extras) if extras else 0
        if credited and prompt.state in SETTLED_STATES:
            _settle_extra(prompt, credited, extras)
        elif credited and prompt.state in REFUNDED_STATES:
            # After a refund it is the customer's, held for the store to refund.
            note(prompt, kind=EventKind.LATE_DEPOSIT, data={"credited": credited})


def _creditable(prompt: PaymentPrompt, deposit: Deposit) -> bool:
    return deposit.credited_at is not None or creditable(
        deposit, currency=prompt.currency, required=prompt.confirmations_required
    )


def _credit(prompt: PaymentPrompt, deposits: list[Deposit]) -> int:
    """Credit each deposit not credited yet (once: the conditional update that marks it
    is the test); returns the amount this call credited."""
    credited = deposits_credit(d for d in deposits if d.credited_at is None)
    total = sum(d.amount for d in credited)
    if not total:
        return 0
    prompt.received_amount += total
    PaymentPrompt.objects.filter(id=prompt.id).update(received_amount=prompt.received_amount)
    post(
        prompt,
        currency=prompt.currency,
        legs=[(payer_account(prompt), total), ("deposits", -total)],
        memo="deposits credited",
        wallet_account=prompt.account,
    )
    return total


# --- the invoice ----------------------------------------------------------------------


def invoice_refresh(*, invoice_id: int) -> Invoice:
    """Read the invoice's status from its prompts and act on a change: record the
    Greenfield events, settle it (each prompt's money to the store, once), close the
    prompts nobody paid. Safe to run twice."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(id=invoice_id)
        prompts = list(
            PaymentPrompt.objects.select_for_update().filter(invoice=invoice).order_by("id")
        )
        figures = [_figures(p) for p in prompts]
        now = timezone.now()
        before = (invoice.status, invoice.additional_status)
        new = standing(
            status=invoice.status,
            additional=invoice.additional_status,
            prompts=figures,
            now=now,
            expires_at=invoice.expires_at,
            monitoring_expires_at=invoice.monitoring_expires_at,
        )
        # In Greenfield's order: payments seen, processing, payments confirmed, settled.
        _record_payments(invoice, prompts, credited=False)
        if new.status == InvoiceStatus.SETTLED and invoice.status == InvoiceStatus.NEW:
            _status_set(invoice, InvoiceStatus.PROCESSING, new.additional, now)
        _record_payments(invoice, prompts, credited=True)
        if (new.status, new.additional) != before:
            _status_set(invoice, new.status, new.additional, now)
        if invoice.status == InvoiceStatus.SETTLED:
            for prompt in prompts:
                _settle(prompt)
        if invoice.status != InvoiceStatus.NEW:
            for prompt in prompts:
                if prompt.state == FundingState.AWAITING_DEPOSIT and not prompt.received_amount:
                    transition(
                        prompt,
                        FundingState.EXPIRED,
                        reason=f"the invoice is {invoice.status.lower()}",
                        closed_at=now,
                    )
    return invoice


def _figures(prompt: PaymentPrompt) -> PromptFigures:
    seen = (
        sum(
            Deposit.objects.filter(account_id=prompt.account_id, dropped=False).values_list(
                "amount", flat=True
            )
        )
        if prompt.account_id
        else 0
    )
    return PromptFigures(due=prompt.due, seen=seen, credited=prompt.received_amount)


def _record_payments(invoice: Invoice, prompts: list[PaymentPrompt], *, credited: bool) -> None:
    """Once per deposit: an ``InvoiceReceivedPayment`` event when it is first seen, or
    (``credited``) an ``InvoicePaymentSettled`` one when it is credited."""
    type = InvoiceEventType.PAYMENT_SETTLED if credited else InvoiceEventType.RECEIVED_PAYMENT
    told = {e.data.get("paymentId") for e in invoice.events.filter(type=type)}
    late = invoice.status == InvoiceStatus.EXPIRED
    for prompt in prompts:
        if prompt.account_id is None:
            continue
        deposits = Deposit.objects.filter(account_id=prompt.account_id).order_by("id")
        for deposit in deposits:
            payment_id = f"{deposit.txid}-{deposit.output_key}"
            if payment_id in told or (credited and deposit.credited_at is None):
                continue
            invoice_event(
                invoice,
                type,
                afterExpiration=late,
                paymentMethodId=f"{prompt.currency}-CHAIN",
                paymentId=payment_id,
                value=deposit.amount,
            )


STATUS_EVENTS: dict[str, str] = {
    InvoiceStatus.PROCESSING: InvoiceEventType.PROCESSING,
    InvoiceStatus.EXPIRED: InvoiceEventType.EXPIRED,
    InvoiceStatus.SETTLED: InvoiceEventType.SETTLED,
    InvoiceStatus.INVALID: InvoiceEventType.INVALID,
}


def _status_set(
    invoice: Invoice, status: str, additional: str, now: datetime, *, marked: bool = False
) -> None:
    changed = status != invoice.status
    invoice.status, invoice.additional_status = status, additional
    fields = {"status": status, "additional_status": additional, "updated_at": now}
    if status == InvoiceStatus.SETTLED and invoice.settled_at is None:
        invoice.settled_at = fields["settled_at"] = now
    Invoice.objects.filter(id=invoice.id).update(**fields)
    if changed and status in STATUS_EVENTS:
        invoice_event(
            invoice,
            STATUS_EVENTS[status],
            manuallyMarked=marked,
            overPaid=additional == AdditionalStatus.PAID_OVER,
            partiallyPaid=additional == AdditionalStatus.PAID_PARTIAL,
        )


# --- settlement -------------------------------------------------------------------------


def _settle(prompt: PaymentPrompt) -> None:
    """The prompt's credited money goes to the store (once: only from ``paid``)."""
    if prompt.state not in HOLDING or not prompt.received_amount:
        return
    store = prompt.invoice.store
    if store.settlement == Settlement.BALANCE:
        event = transition(prompt, FundingState.COMPLETED, reason="credited to the merchant")
        post(
            prompt,
            currency=prompt.currency,
            legs=[
                (payer_account(prompt), -prompt.received_amount),
                (merchant_account(prompt), prompt.received_amount),
            ],
            memo=f"settled to the merchant's balance (event {event.id})",
        )
        return
    address = vendor_payout_address(vendor_id=prompt.store_owner_id, currency=prompt.currency)
    if not address:
        note(prompt, kind=EventKind.STAFF, reason="the store has no payout address")
        return
    event = transition(prompt, PromptState.SETTLING, reason="the invoice is settled")
    _pay_store(prompt, prompt.received_amount, address, key=PayoutKind.SETTLE, event_id=event.id)


def _settle_extra(prompt: PaymentPrompt, amount: int, deposits: list[Deposit]) -> None:
    """A deposit credited after the store was paid is the store's too: paid on its own."""
    event = note(prompt, kind=EventKind.EXTRA_DEPOSIT, data={"amount": amount})
    to_store(
        prompt,
        amount,
        key=f"{PayoutKind.SETTLE}:{min(d.id for d in deposits)}",
        event_id=event.id,
        memo="a later deposit credited to the merchant",
    )


def to_store(prompt: PaymentPrompt, amount: int, *, key: str, event_id: int, memo: str) -> None:
    """``amount`` of what the prompt holds for its payer is the store's: paid to the
    store's address once for ``key``, or credited to the merchant's balance when the store
    settles to a balance, has no payout address, or the amount is below ORDER_MIN_AMOUNT
    (not worth a payout's network fee)."""
    address = vendor_payout_address(vendor_id=prompt.store_owner_id, currency=prompt.currency)
    if (
        prompt.invoice.store.settlement == Settlement.BALANCE
        or not address
        or amount < settings.ORDER_MIN_AMOUNT[prompt.currency]
    ):
        post(
            prompt,
            currency=prompt.currency,
            legs=[(payer_account(prompt), -amount), (merchant_account(prompt), amount)],
            memo=memo,
        )
        return
    _pay_store(prompt, amount, address, key=key, event_id=event_id)


def _pay_store(
    prompt: PaymentPrompt, amount: int, address: str, *, key: str, event_id: int
) -> None:
    pay_share(
        prompt,
        currency=prompt.currency,
        holder=payer_account(prompt),
        share=amount,
        fee=platform_fee(amount, prompt.fee_bps, prompt.currency),
        party=merchant_account(prompt),
        who="store",
        address=address,
        key=key,
        kind=PayoutKind.SETTLE,
        event_id=event_id,
    )


# --- the store's and the sweep's moves ------------------------------------------------------


def invoice_mark(*, invoice_id: int, status: str, actor: Person | None = None) -> Invoice:
    """The store says the invoice is ``Settled`` or ``Invalid`` (any case): a settled one
    pays the store what its prompts hold."""
    wanted = {s.lower(): s for s in (InvoiceStatus.SETTLED, InvoiceStatus.INVALID)}.get(
        (status or "").strip().lower()
    )
    if wanted is None:
        raise ApplicationError("must be Settled or Invalid", field="status")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(id=invoice_id)
        prompts = list(
            PaymentPrompt.objects.select_for_update().filter(invoice=invoice).order_by("id")
        )
        if invoice.status == wanted:
            return invoice
        if invoice.status == InvoiceStatus.SETTLED:
            raise ApplicationError("a settled invoice cannot be marked invalid", field="status")
        _status_set(invoice, wanted, AdditionalStatus.MARKED, timezone.now(), marked=True)
        if wanted == InvoiceStatus.SETTLED:
            for prompt in prompts:
                _settle(prompt)
    transaction.on_commit(functools.partial(enqueue, "invoices.refresh", invoice.id))
    return invoice


def prompt_advance(*, prompt_id: int) -> PaymentPrompt:
    """Follow the prompt's payouts (funding.services.advance)."""
    return funding_advance(PaymentPrompt, prompt_id)


def invoices_expire() -> int:
    """Expire the prompts of invoices past their deadline and refresh every invoice whose
    deadline or monitoring window has passed; returns how many prompts expired."""
    expired = expire_due(
        PaymentPrompt,
        batch=EXPIRE_BATCH,
        seen_in_time=lambda prompt, live: bool(live),
    )
    now = timezone.now()
    due = Invoice.objects.filter(status=InvoiceStatus.NEW, expires_at__lt=now).values_list(
        "id", flat=True
    )[:EXPIRE_BATCH]
    watched = Invoice.objects.filter(
        status=InvoiceStatus.PROCESSING, monitoring_expires_at__lt=now
    ).values_list("id", flat=True)[:EXPIRE_BATCH]
    for invoice_id in {*due, *watched}:
        invoice_refresh(invoice_id=invoice_id)
    return expired
