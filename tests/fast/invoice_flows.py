"""Invoices moved on against the in-memory chain (tests.fast.fake_chain): a step of the
workers, an expiry, and an invoice paid in part and then expired; the ``chain`` and
``store`` fixtures of the refund tests (imported by name where they are used)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from invoices.models import Invoice, PaymentPrompt
from invoices.services import (
    invoice_create,
    invoice_refresh,
    invoices_expire,
    prompt_apply_deposits,
)
from orders.services.vendors import vendor_payout_address_set
from tests.fast.fake_chain import fake_chain
from tests.merchants import make_merchant, make_store
from wallets.services import deposits_scan
from wallets.services.pool import pool_refill

# STAFF_APPROVAL_ABOVE for BTC under the ``chain`` fixture.
APPROVAL_ABOVE = 1_000_000


@pytest.fixture
def chain(settings):
    """The in-memory bitcoin chain: one confirmation credits, a 1 % platform fee, staff
    approval above APPROVAL_ABOVE."""
    settings.CONFIRMATIONS_REQUIRED = {**settings.CONFIRMATIONS_REQUIRED, "bitcoin": [(None, 1)]}
    settings.PLATFORM_FEE_BPS = 100
    settings.STAFF_APPROVAL_ABOVE = {**settings.STAFF_APPROVAL_ABOVE, "BTC": APPROVAL_ABOVE}
    with fake_chain("bitcoin") as fake:
        pool_refill(chain="bitcoin", batch_size=4, target=4)
        yield fake


@pytest.fixture
def store(chain):
    """A store taking bitcoin, its owner paid at ``fake1merchant``."""
    merchant = make_merchant()
    vendor_payout_address_set(user=merchant, currency="BTC", address="fake1merchant")
    return make_store(
        merchant, name="Corner & Co", payment_methods=["BTC-CHAIN"], default_currency="BTC"
    )


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
