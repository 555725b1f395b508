"""An invoice's checkout page (web/invoices.py) in a real headless Chromium, against the
real server, worker and regtest nodes: the customer picks Bitcoin, pays what the page
shows from their own wallet, and the page follows the invoice to Settled and back to the
shop."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from invoices.models import Invoice, InvoiceStatus, PaymentPrompt
from invoices.services import invoice_create, invoice_mark
from stores.models import Store
from tests.chain import drive, mine, pay
from tests.web.test_browser import assert_fits_a_phone, deposit_from_page

# Blocks on a loaded machine, then the worker's scan and refresh, then a 2.5 s poll.
SLOW = 60_000
# A price whose platform fee (1%) is above Bitcoin's dust limit.
PRICE = "0.005"


def _invoice(public_id: str) -> Invoice:
    return Invoice.objects.get(public_id=public_id)


def _shop_url(web_server: str, name: str) -> str:
    """Where the shop takes its customer back to (a page of ours that does not exist:
    the test reads the address the browser went to)."""
    return f"{web_server}/shop-{name}?order=A-17"


def test_an_invoice_paid_in_bitcoin_from_its_page_settles_and_leads_back_to_the_shop(
    market, vendor, web_server, page: Page
):
    back = _shop_url(web_server, "thanks")
    store = Store.objects.create(owner=vendor.user, name="Browser shop", lazy_payment_methods=True)
    invoice = invoice_create(
        store=store,
        amount=PRICE,
        currency="BTC",
        metadata={"orderId": "A-17"},
        redirect_url=back,
    )
    public_id = invoice.public_id

    page.goto(f"/i/{public_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pay Browser shop")
    expect(page.locator("#invoice-price")).to_have_text("0.005 BTC")
    status = page.locator("#status-label")
    expect(status).to_have_text("Waiting for payment")
    expect(page.locator("#deposit-address")).to_have_count(0)
    page.get_by_role("button", name="Bitcoin").click()

    expect(page).to_have_url(re.compile(rf"/i/{public_id}/BTC$"))
    expect(page.locator("svg.qr")).to_be_visible()
    expect(page.locator("#countdown-value")).to_have_text(re.compile(r"^1[45]:[0-5][0-9]$"))
    address, amount = deposit_from_page(page)
    prompt = PaymentPrompt.objects.get(invoice=invoice, currency="BTC")
    assert (address, amount) == (prompt.account.address, prompt.due)
    assert amount == 500_000
    assert PaymentPrompt.objects.get(invoice=invoice, currency="XMR").account_id is None
    expect(page.locator("#return-link")).to_be_hidden()

    # A part first: the page asks for the rest, with a new amount and QR code.
    pay("bitcoin", address, 200_000)
    drive(
        "bitcoin",
        lambda: _invoice(public_id).additional_status == "PaidPartial",
        what="the part paid to be seen",
    )
    expect(status).to_have_text("Paid partially", timeout=SLOW)
    expect(page.locator("#pay-amount .amount")).to_have_attribute("data-base-units", "300000")
    expect(page.locator("figure.qr-box a")).to_have_attribute(
        "href", f"bitcoin:{address}?amount=0.003"
    )
    rest_to, rest = deposit_from_page(page)
    assert (rest_to, rest) == (address, 300_000)

    pay("bitcoin", rest_to, rest)
    drive(
        "bitcoin",
        lambda: _invoice(public_id).status == InvoiceStatus.PROCESSING,
        what="processing",
    )
    expect(status).to_have_text("Processing", timeout=SLOW)
    expect(page.locator("#qr-box")).to_be_hidden()
    mine("bitcoin", 1)
    drive("bitcoin", lambda: _invoice(public_id).status == InvoiceStatus.SETTLED, what="settled")
    expect(status).to_have_text("Settled", timeout=SLOW)
    expect(page.locator("#steps li.done")).to_have_count(3)
    link = page.get_by_role("link", name="Return to Browser shop")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", back)
    assert_fits_a_phone(page)
    link.click()
    expect(page).to_have_url(back)


def test_the_page_takes_the_customer_back_to_the_shop_once_the_invoice_is_settled(
    vendor, web_server, page: Page
):
    back = _shop_url(web_server, "auto")
    store = Store.objects.create(owner=vendor.user, name="Auto shop", payment_methods=["BTC-CHAIN"])
    invoice = invoice_create(
        store=store,
        amount=PRICE,
        currency="BTC",
        redirect_url=back,
        redirect_automatically=True,
    )
    page.goto(f"/i/{invoice.public_id}")
    expect(page.locator("#status-label")).to_have_text("Waiting for payment")
    expect(page.locator("#deposit-address")).to_be_visible()  # its one coin, chosen

    invoice_mark(invoice_id=invoice.id, status="Settled")
    expect(page.locator("#status-label")).to_have_text("Settled")
    expect(page).to_have_url(back)


def test_without_javascript_a_coin_is_chosen_and_the_address_shown(
    market, vendor, web_server, page: Page
):
    store = Store.objects.create(owner=vendor.user, name="Plain shop", lazy_payment_methods=True)
    invoice = invoice_create(store=store, amount=PRICE, currency="BTC")
    context = page.context.browser.new_context(base_url=web_server, java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.goto(f"/i/{invoice.public_id}")
        plain.get_by_role("button", name="Monero").click()
        expect(plain).to_have_url(re.compile(rf"/i/{invoice.public_id}/XMR$"))
        prompt = PaymentPrompt.objects.get(invoice=invoice, currency="XMR")
        expect(plain.locator("#deposit-address")).to_have_text(prompt.account.address)
        expect(plain.locator("svg.qr")).to_be_visible()
        expect(plain.locator("#status-label")).to_have_text("Waiting for payment")
    finally:
        context.close()
