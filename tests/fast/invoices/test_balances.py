"""A merchant's balance through its service and the stores page, against the in-memory
chain: each invoice of a balance store credits its share, a withdrawal pays each share
once from the deposit account it is in, a share too small to pay stays, and a refund and a
withdrawal never take the same share."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from exchange.errors import ApplicationError
from invoices.models import InvoiceStatus, Withdrawal
from invoices.selectors import merchant_balances
from invoices.services import RefundAsk, balance_withdraw, invoice_create, refund_create
from ownership.models import LedgerBalance
from stores.models import Settlement, Store
from tests.fast import invoice_flows
from tests.fast.invoice_flows import prompt_of, step
from tests.merchants import make_merchant
from wallets.models import Payout

pytestmark = pytest.mark.django_db

# The in-memory bitcoin chain and a store taking it (tests.fast.invoice_flows).
chain, store = invoice_flows.chain, invoice_flows.store


@pytest.fixture
def balance_store(store):
    Store.objects.filter(id=store.id).update(settlement=Settlement.BALANCE)
    store.refresh_from_db()
    return store


def _settled(chain, store, amount: int):
    invoice = invoice_create(store=store, amount=str(Decimal(amount).scaleb(-8)), currency="BTC")
    chain.pay(prompt_of(invoice).account.address, amount)
    assert step(chain, invoice).status == InvoiceStatus.SETTLED
    return prompt_of(invoice)


def _held(owner) -> int:
    row = LedgerBalance.objects.filter(currency="BTC", account=f"merchant:{owner.id}").first()
    return row.balance if row else 0


def _withdrawn() -> list[tuple[int, str, int]]:
    return sorted(
        Payout.objects.filter(kind="withdrawal").values_list("owner_id", "address", "amount")
    )


def test_each_invoices_share_is_paid_once_from_its_own_account(chain, balance_store, settings):
    settings.ORDER_MIN_AMOUNT = {**settings.ORDER_MIN_AMOUNT, "BTC": 20_000}
    first = _settled(chain, balance_store, 100_000)
    second = _settled(chain, balance_store, 250_000)
    small = _settled(chain, balance_store, 10_000)
    owner = balance_store.owner
    (balance,) = merchant_balances(owner_id=owner.id)
    assert (balance.total, balance.withdrawable) == (360_000, 350_000)

    withdrawal = balance_withdraw(owner=owner, currency="btc")

    assert (withdrawal.amount, withdrawal.payouts, withdrawal.address) == (
        350_000,
        2,
        "fake1merchant",
    )
    assert _withdrawn() == [
        (first.id, "fake1merchant", 100_000),
        (second.id, "fake1merchant", 250_000),
    ]
    assert (
        Payout.objects.get(owner_id=first.id).key == f"prompt_{first.id}:withdrawal:{withdrawal.id}"
    )
    assert _held(owner) == 10_000
    with pytest.raises(ApplicationError) as nothing:
        balance_withdraw(owner=owner, currency="BTC")
    assert nothing.value.field == "currency"
    assert Withdrawal.objects.count() == 1
    assert small.id not in {p for p, _, _ in _withdrawn()}


def test_a_refunded_share_is_not_withdrawn_and_a_withdrawn_one_not_refunded(chain, balance_store):
    refunded = _settled(chain, balance_store, 100_000)
    withdrawn = _settled(chain, balance_store, 100_000)
    refund_create(invoice_id=refunded.invoice_id, ask=RefundAsk(variant="RateThen"))

    balance_withdraw(owner=balance_store.owner, currency="BTC")

    assert _withdrawn() == [(withdrawn.id, "fake1merchant", 100_000)]
    with pytest.raises(ApplicationError):
        refund_create(invoice_id=withdrawn.invoice_id, ask=RefundAsk(variant="RateThen"))
    assert _held(balance_store.owner) == 0


def test_without_a_payout_address_or_a_coin_nothing_is_written(chain):
    owner = make_merchant()
    with pytest.raises(ApplicationError) as no_address:
        balance_withdraw(owner=owner, currency="BTC")
    with pytest.raises(ApplicationError) as no_coin:
        balance_withdraw(owner=owner, currency="DOGE")
    assert (no_address.value.field, no_coin.value.field) == ("currency", "currency")
    assert not Withdrawal.objects.exists()


def test_the_stores_page_shows_the_balance_and_withdraws_it(chain, balance_store):
    _settled(chain, balance_store, 100_000)
    client = Client()
    client.force_login(balance_store.owner)
    page = client.get("/account/stores/").content.decode()
    assert 'id="balance-BTC"' in page
    assert 'data-base-units="100000"' in page

    done = client.post("/account/stores/withdraw/BTC/", follow=True)

    assert done.status_code == 200
    assert "in 1 payout(s)" in done.content.decode()
    assert 'id="balance-BTC"' not in done.content.decode()
    assert [a for _, a, _ in _withdrawn()] == ["fake1merchant"]
    # Another merchant withdraws only their own balance: here, none.
    stranger = Client()
    stranger.force_login(make_merchant())
    refused = stranger.post("/account/stores/withdraw/BTC/", follow=True).content.decode()
    assert "set a payout address for BTC first" in refused
    assert len(_withdrawn()) == 1
