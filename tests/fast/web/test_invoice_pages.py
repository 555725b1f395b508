"""An invoice's checkout page (web/invoices.py) through Django's test client, against the
in-memory chains: the store and price, a coin chosen (a lazy prompt activated once, by a
POST with CSRF), what is due and where, the QR code of the payment URI, the status as the
page polls it (with no node call), the way back to the shop, and a plain 404 for any id
that is not an invoice's."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from invoices.models import Invoice, PaymentPrompt
from invoices.services import invoice_create, invoice_mark, invoice_refresh, prompt_apply_deposits
from orders.services.vendors import vendor_payout_address_set
from rates.services import rates_refresh
from stores.models import Store
from tests.fast.fake_chain import fake_chain
from wallets.services import deposits_scan
from wallets.services.pool import pool_refill

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example/thanks?order=7&paid=1"


@pytest.fixture
def chains(settings, django_capture_on_commit_callbacks):
    settings.CONFIRMATIONS_REQUIRED = {
        **settings.CONFIRMATIONS_REQUIRED,
        "bitcoin": [(None, 1)],
    }
    with fake_chain("bitcoin") as btc, fake_chain("monero") as xmr:
        for fake in (btc, xmr):
            pool_refill(chain=fake.chain, batch_size=8, target=8)
        with django_capture_on_commit_callbacks(execute=True):
            rates_refresh()
        yield btc, xmr


@pytest.fixture
def store(chains):
    merchant = get_user_model().objects.create_user(username="merchant", password=None)
    vendor_payout_address_set(user=merchant, currency="BTC", address="fake1merchant-btc")
    vendor_payout_address_set(user=merchant, currency="XMR", address="fake1merchant-xmr")
    return Store.objects.create(owner=merchant, name="Corner & Co shop")


def _invoice(store, **kwargs) -> Invoice:
    return invoice_create(
        store=store, amount="0.001", currency="BTC", metadata={"orderId": "A-17"}, **kwargs
    )


def _prompt(invoice: Invoice, currency: str = "BTC") -> PaymentPrompt:
    return PaymentPrompt.objects.get(invoice=invoice, currency=currency)


def _lazy(store) -> Store:
    Store.objects.filter(id=store.id).update(lazy_payment_methods=True)
    store.refresh_from_db()
    return store


def _step(btc, invoice: Invoice, *, blocks: int = 0) -> None:
    """The workers' part: scan the chain, credit the prompt, refresh the invoice."""
    if blocks:
        btc.mine(blocks)
    deposits_scan(chain="bitcoin")
    prompt_apply_deposits(prompt_id=_prompt(invoice).id)
    invoice_refresh(invoice_id=invoice.id)


def _status(invoice: Invoice, method: str = "BTC") -> dict:
    response = Client().get(f"/i/{invoice.public_id}/status?method={method}")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    return response.json()


def test_the_page_shows_the_store_the_price_and_the_coins_to_choose(store):
    invoice = _invoice(store)
    response = Client().get(f"/i/{invoice.public_id}")
    page = response.content.decode()

    assert response.status_code == 200
    assert "<h1>Pay Corner &amp; Co shop</h1>" in page
    assert '<strong id="invoice-price">0.001 BTC</strong>, order A-17' in page
    for code, name in (("BTC", "Bitcoin"), ("XMR", "Monero")):
        assert f'action="/i/{invoice.public_id}/{code}"' in page
        assert f"{name} ({code})</button>" in page
    assert 'name="csrfmiddlewaretoken"' in page
    # Nothing to pay before a coin is chosen, and no address shown.
    assert 'id="deposit-address"' not in page
    assert _prompt(invoice).account.address not in page
    assert f'data-url="/i/{invoice.public_id}/status"' in page


@pytest.mark.parametrize(
    ("method", "scheme"),
    [("BTC", "bitcoin:{}?amount=0.001"), ("XMR", "monero:{}?tx_amount=")],
)
def test_a_chosen_coin_shows_its_amount_address_countdown_and_payment_uri_qr(store, method, scheme):
    invoice = _invoice(store)
    prompt = _prompt(invoice, method)
    page = Client().get(f"/i/{invoice.public_id}/{method}").content.decode()

    address = prompt.account.address
    assert f'<code id="deposit-address" class="address">{address}</code>' in page
    assert f'data-base-units="{prompt.due}"' in page
    assert f'data-due="{prompt.due}"' in page
    assert scheme.format(address) in page
    assert '<svg role="img" aria-label="QR code of the payment request"' in page
    assert re.search(r'id="countdown" data-expires-in="(89\d|900)"', page)
    assert f'data-url="/i/{invoice.public_id}/status?method={method}"' in page
    if method == "XMR":
        assert "1 XMR = " in page  # priced in BTC: the rate it was locked at


def test_a_lazy_prompt_is_activated_once_by_a_post_with_the_csrf_token(chains, store):
    btc, _ = chains
    invoice = _invoice(_lazy(store))
    url = f"/i/{invoice.public_id}/BTC"
    client = Client(enforce_csrf_checks=True)
    page = client.get(url).content.decode()
    assert 'id="deposit-address"' not in page
    assert "Choose a coin to see the amount and the address to pay." in page

    assert client.post(url).status_code == 403
    assert _prompt(invoice).account_id is None

    token = client.cookies["csrftoken"].value
    calls = len(btc.calls)
    chosen = client.post(url, {"csrfmiddlewaretoken": token})
    assert (chosen.status_code, chosen["Location"]) == (302, url)
    account = _prompt(invoice).account
    assert account is not None
    again = client.post(f"/i/{invoice.public_id}/btc-chain", {"csrfmiddlewaretoken": token})
    assert (again.status_code, again["Location"]) == (302, url)
    assert _prompt(invoice).account_id == account.id
    assert _prompt(invoice, "XMR").account_id is None
    assert len(btc.calls) == calls  # the address came from the pool, not the node
    assert f">{account.address}</code>" in client.get(url).content.decode()


def test_a_partial_payment_leaves_the_rest_due_in_the_amount_and_the_uri(chains, store):
    btc, _ = chains
    invoice = _invoice(store)
    prompt = _prompt(invoice)
    btc.pay(prompt.account.address, 40_000)
    _step(btc, invoice)

    status = _status(invoice)
    assert (status["state"], status["additional_status"]) == ("New", "PaidPartial")
    assert status["label"] == "Paid partially"
    assert status["detail"] == "0.00040000 BTC received; 0.00060000 BTC still due."
    assert (status["seen"], status["due"]) == ("40000", "60000")
    assert status["uri"] == f"bitcoin:{prompt.account.address}?amount=0.0006"
    assert (status["payable"], status["closed"], status["final"]) == (True, False, False)
    page = Client().get(f"/i/{invoice.public_id}/BTC").content.decode()
    assert "<dt>Still due</dt>" in page
    assert 'data-due="60000"' in page
    assert 'id="pay-amount"><span class="amount" title="60000 satoshi"' in page
    assert f"bitcoin:{prompt.account.address}?amount=0.0006" in page


def test_the_status_follows_the_invoice_to_settled_with_no_node_call(chains, store):
    btc, xmr = chains
    invoice = _invoice(store, redirect_url=SHOP)
    prompt = _prompt(invoice)
    calls = (len(btc.calls), len(xmr.calls))

    new = _status(invoice)
    assert (new["state"], new["label"], new["step"]) == ("New", "Waiting for payment", 0)
    assert new["detail"] == "Send exactly 0.00100000 BTC to the address."
    assert new["return_url"] == ""
    assert (len(btc.calls), len(xmr.calls)) == calls

    btc.pay(prompt.account.address, prompt.due)
    _step(btc, invoice)
    calls = (len(btc.calls), len(xmr.calls))
    processing = _status(invoice)
    assert (processing["state"], processing["label"], processing["step"]) == (
        "Processing",
        "Processing",
        2,
    )
    assert processing["detail"] == "Paid in full. Confirmations 0/1: waiting for the next block."
    assert (processing["payable"], processing["closed"], processing["due"]) == (False, True, "0")
    assert processing["expires_in"] is None
    assert (len(btc.calls), len(xmr.calls)) == calls

    _step(btc, invoice, blocks=1)
    calls = (len(btc.calls), len(xmr.calls))
    settled = _status(invoice)
    assert (settled["state"], settled["label"], settled["tone"]) == ("Settled", "Settled", "done")
    assert (settled["final"], settled["return_url"], settled["payouts"]) == (True, SHOP, [])
    assert (len(btc.calls), len(xmr.calls)) == calls


def test_a_settled_invoice_links_back_to_the_shop_and_redirects_when_asked(store):
    def settled_page(**kwargs) -> str:
        invoice = _invoice(store, **kwargs)
        invoice_mark(invoice_id=invoice.id, status="Settled")
        return Client().get(f"/i/{invoice.public_id}/BTC").content.decode()

    escaped = SHOP.replace("&", "&amp;")
    linked = settled_page(redirect_url=SHOP)
    assert f'<a class="button primary" id="return-link" href="{escaped}">' in linked
    assert "Return to Corner &amp; Co shop</a>" in linked
    assert 'http-equiv="refresh"' not in linked
    assert 'id="status-return" data-redirect-seconds="3">' in linked

    redirected = settled_page(redirect_url=SHOP, redirect_automatically=True)
    assert f'<meta http-equiv="refresh" content="3; url={escaped}">' in redirected

    # Only a web address becomes a link or a redirect.
    for unsafe in ("javascript:alert(1)", "//evil.example/", "data:text/html,hi"):
        page = settled_page(redirect_url=unsafe, redirect_automatically=True)
        assert 'id="return-link"' not in page
        assert 'http-equiv="refresh"' not in page
        assert unsafe not in page


def test_an_open_invoice_keeps_its_way_back_hidden_until_it_is_settled(store):
    invoice = _invoice(store, redirect_url=SHOP)
    page = Client().get(f"/i/{invoice.public_id}/BTC").content.decode()
    assert '<p class="status-return" id="status-return" data-redirect-seconds="3" hidden>' in page


def test_an_expired_invoice_says_so_and_offers_nothing_to_pay(store):
    invoice = _invoice(_lazy(store))
    Invoice.objects.filter(id=invoice.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    client = Client()

    status = _status(invoice)
    assert (status["state"], status["label"], status["expired"]) == ("New", "Expired", True)
    invoice_refresh(invoice_id=invoice.id)
    assert _status(invoice)["state"] == "Expired"

    page = client.get(f"/i/{invoice.public_id}").content.decode()
    assert "<button" not in page.split('id="main"')[1]
    refused = client.post(f"/i/{invoice.public_id}/BTC")
    assert refused.status_code == 409
    assert f"invoice {invoice.public_id} is Expired" in refused.content.decode()
    assert _prompt(invoice).account_id is None


def test_an_id_that_is_not_an_invoices_is_a_plain_404(store):
    invoice = _invoice(store)
    client = Client()
    unknown = "1" * 22
    answers = [
        client.get(f"/i/{unknown}"),
        client.get(f"/i/{unknown}/BTC"),
        client.post(f"/i/{unknown}/BTC"),
        client.get(f"/i/{unknown}/status"),
        client.get("/i/" + quote("'; select 1 --")),
        client.get(f"/i/{invoice.public_id}/DOGE"),
        client.get(f"/i/{invoice.public_id}/status?method=DOGE"),
    ]
    assert [a.status_code for a in answers] == [404] * len(answers)
    bodies = {a.content for a in answers}
    assert len(bodies) == 1
    assert unknown.encode() not in bodies.pop()
