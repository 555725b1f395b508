"""Invoices on the regtest stack: a customer pays a prompt from their own wallet, the
workers credit it and settle the invoice, and the store is paid once. What was paid is
read from the nodes, not from the engine's rows, and the books are checked against the
chain after each test (tests/money_conftest.py)."""

from __future__ import annotations

import pytest

from funding.models import FundingState
from invoices.models import Invoice, InvoiceStatus, PaymentPrompt
from invoices.services import invoice_create
from stores.models import Store
from tests.books import measured
from tests.chain import CHAIN_OF, drive, mine, pay
from tests.flows import CREDIT_BLOCKS


def _status(invoice: Invoice) -> str:
    return Invoice.objects.get(id=invoice.id).status


# The price of each invoice, in the coin it is paid in: 0.0005 BTC's platform fee (500
# sat) is below bitcoin's dust, so it cannot stay behind as change and is not taken.
@pytest.mark.parametrize(
    ("currency", "price"), [("BTC", "0.05"), ("BTC", "0.0005"), ("XMR", "0.5"), ("XMR", "0.05")]
)
def test_a_paid_invoice_is_settled_and_the_store_paid_once_on_chain(
    vendor, celery_worker, currency, price
):
    chain = CHAIN_OF[currency]
    store = Store.objects.create(
        owner=vendor.user, name="shop", payment_methods=[f"{currency}-CHAIN"]
    )
    invoice = invoice_create(store=store, amount=price, currency=currency)
    prompt = PaymentPrompt.objects.get(invoice=invoice)

    pay(chain, prompt.account.address, prompt.due)
    drive(chain, lambda: _status(invoice) == InvoiceStatus.PROCESSING, what="processing")
    mine(chain, CREDIT_BLOCKS[currency])
    drive(chain, lambda: _status(invoice) == InvoiceStatus.SETTLED, what="settled")
    drive(
        chain,
        lambda: PaymentPrompt.objects.get(id=prompt.id).state == FundingState.COMPLETED,
        what="the store's payout confirmed",
        mine_each=1,
        timeout=180,
    )

    paid_to = vendor.receivers[currency].address
    assert measured(chain, [(prompt.account, paid_to)]) == {
        "expected": 1,
        "made": 1,
        "duplicated": 0,
        "lost": 0,
    }
    assert list(invoice.events.values_list("type", flat=True)) == [
        "InvoiceCreated",
        "InvoiceReceivedPayment",
        "InvoiceProcessing",
        "InvoicePaymentSettled",
        "InvoiceSettled",
    ]
