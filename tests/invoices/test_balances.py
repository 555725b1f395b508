"""A balance store's money withdrawn on the regtest chain: each settled invoice credits the
merchant's balance, and a withdrawal pays each invoice's share once from its own deposit
account to the merchant's payout address. What was paid is read from the node."""

from __future__ import annotations

from invoices.models import Invoice, InvoiceStatus, PaymentPrompt
from invoices.services import balance_withdraw, invoice_create
from ownership.selectors import ledger_balance
from stores.models import Settlement
from tests.books import measured, node_spend
from tests.chain import drive, mine, pay
from tests.merchants import make_store
from wallets.models import Payout, PayoutState


def test_a_withdrawal_pays_each_invoices_share_once_to_the_payout_address(vendor, celery_worker):
    store = make_store(vendor.user, payment_methods=["BTC-CHAIN"], settlement=Settlement.BALANCE)
    invoices = [
        invoice_create(store=store, amount=price, currency="BTC") for price in ("0.002", "0.003")
    ]
    prompts = [PaymentPrompt.objects.get(invoice=invoice) for invoice in invoices]
    for prompt in prompts:
        pay("bitcoin", prompt.account.address, prompt.due)
    mine("bitcoin", 1)
    drive(
        "bitcoin",
        lambda: all(Invoice.objects.get(id=i.id).status == InvoiceStatus.SETTLED for i in invoices),
        what="both settled",
    )
    merchant = f"merchant:{vendor.user.id}"
    before = ledger_balance(currency="BTC", account=merchant)

    withdrawal = balance_withdraw(owner=vendor.user, currency="BTC")

    assert (withdrawal.amount, withdrawal.payouts) == (500_000, 2)
    payouts = Payout.objects.filter(kind="withdrawal", owner_id__in=[p.id for p in prompts])
    drive(
        "bitcoin",
        lambda: set(payouts.values_list("state", flat=True)) == {PayoutState.CONFIRMED},
        what="both payouts confirmed",
        mine_each=1,
        timeout=180,
    )
    paid_to = vendor.receivers["BTC"].address
    assert measured("bitcoin", [(p.account, paid_to) for p in prompts]) == {
        "expected": 2,
        "made": 2,
        "duplicated": 0,
        "lost": 0,
    }
    assert ledger_balance(currency="BTC", account=merchant) == before - 500_000
    for payout, prompt in zip(payouts.order_by("owner_id"), prompts, strict=True):
        spend = node_spend(payout)
        assert spend.pays(paid_to) + spend.fee == prompt.due
