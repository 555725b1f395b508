"""Invoices moved on against the in-memory chain (tests.fast.fake_chain): a step of the
workers, an expiry, and an invoice paid in part and then expired."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from invoices.models import Invoice, PaymentPrompt
from invoices.services import (
    invoice_create,
    invoice_refresh,
    invoices_expire,
    prompt_apply_deposits,
)
from wallets.services import deposits_scan


def prompt_of(invoice: Invoice, currency: str = "BTC") -> PaymentPrompt:
    return PaymentPrompt.objects.get(invoice=invoice, currency=currency)


def step(chain, invoice: Invoice, blocks: int = 1) -> Invoice:
    """Mine ``blocks``, scan, credit the prompts and refresh the invoice, as the workers do."""
    chain.mine(blocks)
    deposits_scan(chain=chain.chain)
    for prompt in PaymentPrompt.objects.filter(invoice=invoice):
        prompt_apply_deposits(prompt_id=prompt.id)
    return invoice_refresh(invoice_id=invoice.id)


def expire(invoice: Invoice) -> Invoice:
    past = timezone.now() - timedelta(seconds=1)
    Invoice.objects.filter(id=invoice.id).update(expires_at=past)
    PaymentPrompt.objects.filter(invoice=invoice).update(expires_at=past)
    invoices_expire()
    return Invoice.objects.get(id=invoice.id)


def partly_paid(chain, store, paid: int, price: str = "0.001") -> Invoice:
    """An invoice of ``price`` BTC paid ``paid`` sat, then expired: Expired, PaidPartial."""
    invoice = invoice_create(store=store, amount=price, currency="BTC")
    chain.pay(prompt_of(invoice).account.address, paid)
    step(chain, invoice)
    invoice = expire(invoice)
    assert (invoice.status, invoice.additional_status) == ("Expired", "PaidPartial")
    return invoice
