"""Refunds on the regtest stack: a store asks for one through Greenfield, the customer
claims it on its page with an address of their own wallet, and the workers pay it once.
What was paid, and to whom, is read from the nodes (tests.books.measured, node_spend), and
the books are checked against the chain after each test (tests/money_conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from funding.models import FundingState
from invoices.models import Invoice, InvoiceStatus, PaymentPrompt, Refund, RefundState
from invoices.services import invoice_create, invoices_expire
from ownership.selectors import ledger_balance
from staff.services.approvals import approval_decide
from stores import permissions as p
from stores.models import Settlement
from tests.books import measured, node_spend
from tests.chain import CHAIN_OF, drive, mine, pay, receiver
from tests.flows import CREDIT_BLOCKS
from tests.merchants import key_for, make_store
from tests.people import make_person
from wallets.models import Payout, PayoutState

# Paid to each invoice, in part of its price; the approvals' invoices are paid ABOVE, more
# than their test's STAFF_APPROVAL_ABOVE of THRESHOLD sat.
PARTS = {"BTC": 300_000, "XMR": 300_000_000_000}
PRICES = {"BTC": "0.005", "XMR": "0.5"}
THRESHOLD, ABOVE = 1_000_000, 1_200_000


def _invoice(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(id=invoice.id)


def _prompt(invoice: Invoice) -> PaymentPrompt:
    return PaymentPrompt.objects.get(invoice=invoice)


def _partly_paid(store, currency: str, paid: int, price: str) -> Invoice:
    """An invoice paid ``paid`` of its ``price``, credited, then past its expiry."""
    chain = CHAIN_OF[currency]
    invoice = invoice_create(store=store, amount=price, currency=currency)
    pay(chain, _prompt(invoice).account.address, paid)
    mine(chain, CREDIT_BLOCKS[currency])
    drive(chain, lambda: _prompt(invoice).received_amount == paid, what="the part credited")
    past = timezone.now() - timedelta(seconds=1)
    Invoice.objects.filter(id=invoice.id).update(expires_at=past)
    PaymentPrompt.objects.filter(invoice=invoice).update(expires_at=past)
    invoices_expire()
    assert _invoice(invoice).additional_status == "PaidPartial"
    return invoice


def _ask(store, invoice: Invoice, **body) -> Refund:
    _, api = key_for(store.owner, f"{p.CAN_CREATE_NON_APPROVED_PULL_PAYMENTS}:{store.public_id}")
    response = api.post(
        f"/api/v1/stores/{store.public_id}/invoices/{invoice.public_id}/refund",
        {"refundVariant": "RateThen", **body},
        format="json",
    )
    assert response.status_code == 200, response.content
    return Refund.objects.get(public_id=response.json()["id"])


def _claim(refund: Refund, address: str) -> int:
    return Client().post(f"/refunds/{refund.public_id}", {"address": address}).status_code


def _paid(refund: Refund, currency: str) -> Payout:
    """Mine until the refund's payout is confirmed."""
    payout_id = Refund.objects.get(id=refund.id).payout_id
    try:
        drive(
            CHAIN_OF[currency],
            lambda: Payout.objects.filter(id=payout_id, state=PayoutState.CONFIRMED).exists(),
            what="the refund's payout confirmed",
            mine_each=1,
            timeout=180,
        )
    except AssertionError as exc:
        payout = Payout.objects.get(id=payout_id)
        raise AssertionError(f"{exc}: payout {payout.state}, {payout.last_error!r}") from exc
    return Payout.objects.get(id=payout_id)


@pytest.mark.parametrize("currency", ["BTC", "XMR"])
def test_an_expired_partial_payment_is_refunded_once_to_the_customers_address(
    vendor, celery_worker, currency
):
    chain = CHAIN_OF[currency]
    store = make_store(vendor.user, payment_methods=[f"{currency}-CHAIN"])
    invoice = _partly_paid(store, currency, PARTS[currency], PRICES[currency])
    prompt = _prompt(invoice)
    customer = receiver(chain)

    refund = _ask(store, invoice)
    assert _claim(refund, customer.address) == 302
    assert _claim(refund, receiver(chain).address) == 409

    payout = _paid(refund, currency)
    assert measured(
        chain,
        [(prompt.account, customer.address)],
        forbidden=[(prompt.account, vendor.receivers[currency].address)],
    ) == {"expected": 1, "made": 1, "duplicated": 0, "lost": 0}
    spend = node_spend(payout)
    assert spend.pays(customer.address) + spend.fee == PARTS[currency]
    drive(
        chain,
        lambda: _prompt(invoice).state == FundingState.REFUNDED,
        what="the prompt refunded",
    )


def test_a_balance_store_refunds_a_settled_invoice_from_the_merchants_balance(
    vendor, celery_worker
):
    store = make_store(vendor.user, payment_methods=["BTC-CHAIN"], settlement=Settlement.BALANCE)
    invoice = invoice_create(store=store, amount="0.004", currency="BTC")
    prompt = _prompt(invoice)
    pay("bitcoin", prompt.account.address, prompt.due)
    mine("bitcoin", 1)
    drive("bitcoin", lambda: _invoice(invoice).status == InvoiceStatus.SETTLED, what="settled")
    merchant = f"merchant:{vendor.user.id}"
    before = ledger_balance(currency="BTC", account=merchant)
    customer = receiver("bitcoin")

    refund = _ask(
        store, invoice, refundVariant="Custom", customAmount="0.003", customCurrency="BTC"
    )
    assert _claim(refund, customer.address) == 302

    payout = _paid(refund, "BTC")
    assert refund.source == merchant
    assert ledger_balance(currency="BTC", account=merchant) == before - 300_000
    assert measured(
        "bitcoin",
        [(prompt.account, customer.address)],
        forbidden=[(prompt.account, vendor.receivers["BTC"].address)],
    ) == {"expected": 1, "made": 1, "duplicated": 0, "lost": 0}
    spend = node_spend(payout)
    assert spend.pays(customer.address) + spend.fee == 300_000


def test_above_the_threshold_an_approved_claim_is_paid_once_and_a_rejected_one_never(
    vendor, celery_worker, settings
):
    settings.STAFF_APPROVAL_ABOVE = {**settings.STAFF_APPROVAL_ABOVE, "BTC": THRESHOLD}
    store = make_store(vendor.user, payment_methods=["BTC-CHAIN"])
    approver = make_person(staff=True, roles=("approver",)).user
    assert approver.groups.filter(name="approver").exists()
    invoices = [_partly_paid(store, "BTC", ABOVE, "0.02") for _ in range(2)]
    refunds = [_ask(store, invoice) for invoice in invoices]
    customers = [receiver("bitcoin") for _ in refunds]
    for refund, customer in zip(refunds, customers, strict=True):
        assert _claim(refund, customer.address) == 302
    approved, rejected = (Refund.objects.get(id=r.id) for r in refunds)
    assert {approved.state, rejected.state} == {RefundState.AWAITING_APPROVAL}
    assert approved.payout_id is None

    approval_decide(approval_id=approved.approval_id, actor=approver, approve=True, reason="ok")
    approval_decide(approval_id=rejected.approval_id, actor=approver, approve=False, reason="no")

    _paid(approved, "BTC")
    mine("bitcoin", 1)
    accounts = [_prompt(invoice).account for invoice in invoices]
    assert measured(
        "bitcoin",
        [(accounts[0], customers[0].address)],
        forbidden=[(accounts[1], customers[1].address)],
    ) == {"expected": 1, "made": 1, "duplicated": 0, "lost": 0}
    rejected.refresh_from_db()
    assert (rejected.state, rejected.payout_id) == (RefundState.REJECTED, None)
    assert ledger_balance(currency="BTC", account=rejected.source) == ABOVE
