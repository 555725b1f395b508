"""Invoices through their services against the in-memory chain: prompts priced and
given deposit accounts, payments credited once at the store's policy, the invoice settled
and the store paid once less the platform's fee, expiry and late payments."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from exchange.errors import ApplicationError
from funding.models import FundingState
from invoices.models import AdditionalStatus, Invoice, InvoiceStatus, PaymentPrompt, PromptState
from invoices.services import (
    invoice_create,
    invoice_mark,
    invoice_refresh,
    invoices_expire,
    prompt_activate,
    prompt_apply_deposits,
)
from orders.services.vendors import vendor_payout_address_set
from stores.models import Settlement, Store
from tests.fast.fake_chain import fake_chain
from wallets.models import Payout
from wallets.services import deposits_scan
from wallets.services.pool import pool_refill

pytestmark = pytest.mark.django_db

TIERS = [(100_000, 1), (None, 3)]


@pytest.fixture
def chain(settings):
    settings.CONFIRMATIONS_REQUIRED = {**settings.CONFIRMATIONS_REQUIRED, "bitcoin": TIERS}
    settings.PLATFORM_FEE_BPS = 100
    with fake_chain("bitcoin") as fake:
        pool_refill(chain="bitcoin", batch_size=4, target=4)
        yield fake


@pytest.fixture
def store():
    merchant = get_user_model().objects.create_user(username="merchant", password=None)
    vendor_payout_address_set(user=merchant, currency="BTC", address="fake1merchant")
    return Store.objects.create(owner=merchant, name="shop", payment_methods=["BTC-CHAIN"])


def _invoice(store, amount="0.001", **kwargs) -> Invoice:
    return invoice_create(store=store, amount=amount, currency="BTC", **kwargs)


def _prompt(invoice: Invoice) -> PaymentPrompt:
    return PaymentPrompt.objects.get(invoice=invoice, currency="BTC")


def _step(chain, invoice: Invoice, blocks: int = 0) -> Invoice:
    if blocks:
        chain.mine(blocks)
    deposits_scan(chain="bitcoin")
    prompt_apply_deposits(prompt_id=_prompt(invoice).id)
    return invoice_refresh(invoice_id=invoice.id)


def _payouts(prompt: PaymentPrompt) -> list[tuple[str, str, int]]:
    return sorted(
        Payout.objects.filter(owner_kind="prompt", owner_id=prompt.id).values_list(
            "kind", "address", "amount"
        )
    )


def test_an_invoice_asks_its_price_in_base_units_rounded_up_from_a_deposit_account(chain, store):
    invoice = _invoice(store, amount="0.000000015")
    prompt = _prompt(invoice)

    assert prompt.due == 2
    assert prompt.account is not None
    assert prompt.account.address
    assert [e.type for e in invoice.events.all()] == ["InvoiceCreated"]


def test_paid_confirmed_and_settled_pays_the_store_once_less_the_fee(chain, store):
    invoice = _invoice(store)
    prompt = _prompt(invoice)
    chain.pay(prompt.account.address, 100_000)

    assert _step(chain, invoice).status == InvoiceStatus.PROCESSING
    settled = _step(chain, invoice, blocks=1)
    again = invoice_refresh(invoice_id=invoice.id)

    assert (settled.status, again.status) == (InvoiceStatus.SETTLED, InvoiceStatus.SETTLED)
    assert _payouts(prompt) == [("settle", "fake1merchant", 99_000)]
    assert list(invoice.events.values_list("type", flat=True)) == [
        "InvoiceCreated",
        "InvoiceReceivedPayment",
        "InvoiceProcessing",
        "InvoicePaymentSettled",
        "InvoiceSettled",
    ]


def test_the_store_policy_can_ask_for_more_confirmations_than_the_engine(chain, store):
    invoice = _invoice(store, speed_policy="LowSpeed")
    chain.pay(_prompt(invoice).account.address, 100_000)

    assert _step(chain, invoice, blocks=5).status == InvoiceStatus.PROCESSING
    assert _step(chain, invoice, blocks=1).status == InvoiceStatus.SETTLED


def test_a_partial_payment_expires_partial_and_pays_no_one(chain, store):
    invoice = _invoice(store)
    chain.pay(_prompt(invoice).account.address, 99_999)
    _step(chain, invoice, blocks=1)
    Invoice.objects.filter(id=invoice.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    PaymentPrompt.objects.filter(invoice=invoice).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    invoices_expire()
    invoice.refresh_from_db()

    assert (invoice.status, invoice.additional_status) == (
        InvoiceStatus.EXPIRED,
        AdditionalStatus.PAID_PARTIAL,
    )
    assert _prompt(invoice).state == PromptState.PAID
    assert _payouts(_prompt(invoice)) == []


def test_a_late_payment_is_credited_and_the_store_settles_it_by_hand(chain, store):
    invoice = _invoice(store)
    prompt = _prompt(invoice)
    Invoice.objects.filter(id=invoice.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    PaymentPrompt.objects.filter(id=prompt.id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    invoices_expire()
    assert _prompt(invoice).state == FundingState.EXPIRED

    chain.pay(prompt.account.address, 100_000)
    late = _step(chain, invoice, blocks=1)
    assert (late.status, late.additional_status) == (
        InvoiceStatus.EXPIRED,
        AdditionalStatus.PAID_LATE,
    )
    assert _payouts(prompt) == []

    marked = invoice_mark(invoice_id=invoice.id, status="settled")
    assert (marked.status, marked.additional_status) == (
        InvoiceStatus.SETTLED,
        AdditionalStatus.MARKED,
    )
    assert _payouts(prompt) == [("settle", "fake1merchant", 99_000)]
    invoice_mark(invoice_id=invoice.id, status="Settled")
    assert len(_payouts(prompt)) == 1


def test_a_deposit_after_the_store_was_paid_is_paid_to_it_on_its_own(chain, store):
    invoice = _invoice(store)
    prompt = _prompt(invoice)
    chain.pay(prompt.account.address, 100_000)
    _step(chain, invoice, blocks=1)
    chain.pay(prompt.account.address, 50_000)
    _step(chain, invoice, blocks=1)
    _step(chain, invoice, blocks=1)

    # The fee on the later 50,000 sat (500) is below bitcoin's dust: it is not taken.
    assert _payouts(prompt) == [
        ("settle", "fake1merchant", 50_000),
        ("settle", "fake1merchant", 99_000),
    ]


def test_a_balance_store_credits_the_merchant_and_pays_nothing(chain, store):
    Store.objects.filter(id=store.id).update(settlement=Settlement.BALANCE)
    store.refresh_from_db()
    invoice = _invoice(store)
    chain.pay(_prompt(invoice).account.address, 100_000)

    assert _step(chain, invoice, blocks=1).status == InvoiceStatus.SETTLED
    assert _prompt(invoice).state == FundingState.COMPLETED
    assert _payouts(_prompt(invoice)) == []


def test_a_lazy_store_gives_no_account_until_the_method_is_activated(chain, store):
    Store.objects.filter(id=store.id).update(lazy_payment_methods=True)
    store.refresh_from_db()
    prompt = _prompt(_invoice(store))
    assert prompt.account_id is None

    activated = prompt_activate(prompt=prompt)
    again = prompt_activate(prompt=PaymentPrompt.objects.get(id=prompt.id))
    assert activated.account_id is not None
    assert again.account_id == activated.account_id


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "0.0000000000001"}, "amount"),
        ({"payment_methods": ["XMR"]}, "checkout.paymentMethods"),
        ({"speed_policy": "Warp"}, "checkout.speedPolicy"),
        ({"expiration_minutes": 0}, "checkout.expirationMinutes"),
        ({"currency": "ZZZ"}, "currency"),
    ],
)
def test_bad_input_names_its_field_and_writes_nothing(chain, store, fields, field):
    fields = {"amount": "0.001", "currency": "BTC", **fields}
    with pytest.raises(ApplicationError) as refused:
        invoice_create(store=store, **fields)
    assert refused.value.field == field
    assert not Invoice.objects.exists()


def test_a_method_the_merchant_has_no_payout_address_for_is_refused(chain, store):
    Store.objects.filter(id=store.id).update(payment_methods=["BTC-CHAIN", "XMR-CHAIN"])
    store.refresh_from_db()
    with pytest.raises(ApplicationError, match="no XMR payout address"):
        invoice_create(store=store, amount=Decimal("1"), currency="BTC")


def test_a_fiat_price_is_asked_in_base_units_at_the_current_rate_rounded_up(chain, store):
    from rates.models import RateSnapshot

    RateSnapshot.objects.create(pair="BTC/USD", rate=Decimal("60000"), ok=True)
    invoice = invoice_create(store=store, amount="30.01", currency="usd")
    prompt = _prompt(invoice)

    # 30.01 / 60000 BTC is 50016.66… satoshi: the store is never asked less.
    assert (invoice.currency, prompt.rate, prompt.due) == ("USD", Decimal("60000"), 50_017)


def test_a_prompt_activated_from_a_stale_row_keeps_the_address_it_was_given(chain, store):
    Store.objects.filter(id=store.id).update(lazy_payment_methods=True)
    store.refresh_from_db()
    invoice = _invoice(store)
    stale = _prompt(invoice)  # read before anyone chose the coin

    first = prompt_activate(prompt=_prompt(invoice))
    second = prompt_activate(prompt=stale)

    assert second.account_id == first.account_id == _prompt(invoice).account_id
    assert stale.account_id == first.account_id
