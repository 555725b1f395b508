"""The pages in a real headless Chromium, against the real server, worker and regtest nodes."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Page, expect

from devtools.processes import wait_until
from funding.models import FundingState
from orders.models import EscrowOrder, OrderState
from orders.services import orders_expire
from swaps.models import SwapOrder, SwapState
from swaps.services import swaps_expire
from tests.chain import drive, mine, pay, receiver
from tests.flows import create, settle, state_of
from tests.people import password_set
from wallets.models import Payout

MAINNET_BTC = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"


def swap_row(public_id: str) -> SwapOrder:
    return SwapOrder.objects.get(public_id=public_id)


def swap_state(public_id: str) -> str:
    return swap_row(public_id).state


def assert_fits_a_phone(page: Page) -> None:
    """At a phone's width the page needs no sideways scrolling."""
    page.set_viewport_size({"width": 375, "height": 812})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def log_in(page: Page, person) -> None:
    password = password_set(person)
    page.goto("/accounts/login/?next=/orders/")
    page.get_by_label("Username").fill(person.user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/orders/$"))


def deposit_from_page(page: Page) -> tuple[str, int]:
    """The deposit address and the amount (base units) the checkout page shows."""
    address = page.locator("#deposit-address").inner_text().strip()
    amount = int(page.locator("#pay-amount .amount").get_attribute("data-base-units"))
    return address, amount


def test_a_swap_made_on_the_page_completes_while_its_checkout_page_watches(market, page):
    payout_to, refund_to = receiver("monero"), receiver("bitcoin")
    page.goto("/")
    expect(page.locator("#market-rate")).to_contain_text("1 XMR = ")
    page.get_by_label("Bitcoin → Monero").check()
    page.get_by_label("You send", exact=True).fill("0.01")
    expect(page.locator("#quote-rate")).to_contain_text("1 BTC = ")
    expect(page.get_by_label("You receive", exact=True)).not_to_have_value("")
    expect(page.locator("#quote-fee")).to_contain_text("XMR")
    expect(page.locator("#quote-min")).to_contain_text("BTC")
    page.get_by_label("Fixed").check()
    page.get_by_label("Your XMR address").fill(payout_to.address)
    page.get_by_label("Your BTC refund address").fill(refund_to.address)
    expect(page.locator("#payout_address_ok")).to_contain_text("valid")
    expect(page.locator("#refund_address_ok")).to_contain_text("valid")
    page.get_by_role("button", name="Create swap").click()

    expect(page).to_have_url(re.compile(r"/swaps/[0-9a-f-]{36}/$"))
    public_id = page.url.rstrip("/").rsplit("/", 1)[1]
    page.evaluate("window.sameDocument = true")
    status = page.locator("#status-label")
    expect(status).to_have_text("Waiting for your deposit")
    expect(page.locator("svg.qr")).to_be_visible()
    expect(page.locator("#countdown-value")).to_have_text(re.compile(r"^1[45]:[0-5][0-9]$"))
    address, amount = deposit_from_page(page)
    assert amount == 1_000_000

    pay("bitcoin", address, amount)
    drive("bitcoin", lambda: swap_state(public_id) == FundingState.CONFIRMING, what="seen")
    expect(status).to_have_text("Seen in the mempool")
    expect(page.locator("#status-detail")).to_contain_text("0/1")
    mine("bitcoin", 1)
    drive(
        "bitcoin",
        lambda: swap_state(public_id) in (SwapState.SENDING, FundingState.COMPLETED),
        what="sending",
    )
    expect(status).to_have_text(re.compile("^(Sending|Sent|Completed)$"))
    drive(
        "monero",
        lambda: swap_state(public_id) == FundingState.COMPLETED,
        what="completed",
        mine_each=1,
    )
    expect(status).to_have_text("Completed")
    expect(page.locator("#steps li.done")).to_have_count(4)
    assert page.evaluate("window.sameDocument") is True

    swap = SwapOrder.objects.get(public_id=public_id)
    (payout,) = Payout.objects.filter(owner_kind="swap", owner_id=swap.id)
    assert payout_to.received() == payout.amount - payout.network_fee
    expect(page.locator("#status-detail")).to_contain_text(payout.txid)


def test_an_escrow_order_paid_from_its_checkout_page_is_released_from_the_order_page(
    buyer, vendor, celery_worker, page
):
    refund_to = receiver("bitcoin")
    log_in(page, buyer)
    page.get_by_role("link", name="New order").click()
    page.get_by_label("Currency").select_option("BTC")
    page.get_by_label("Amount").fill("0.05")
    page.get_by_label("Vendor username").fill(vendor.user.username)
    page.get_by_label("Description").fill("one web test")
    page.get_by_label("Refund address").fill(refund_to.address)
    expect(page.locator("#id_refund_address_ok")).to_contain_text("valid")
    page.get_by_role("button", name="Create order").click()

    expect(page).to_have_url(re.compile(r"/orders/\d+/pay/$"))
    order_id = int(re.search(r"/orders/(\d+)/pay/", page.url).group(1))
    assert EscrowOrder.objects.get(id=order_id).refund_address == refund_to.address
    status = page.locator("#status-label")
    expect(status).to_have_text("Waiting for payment")
    address, amount = deposit_from_page(page)
    assert amount == 5_000_000

    pay("bitcoin", address, amount)
    drive("bitcoin", lambda: state_of(order_id) == FundingState.CONFIRMING, what="confirming")
    expect(status).to_have_text("Seen in the mempool")
    mine("bitcoin", 1)
    drive("bitcoin", lambda: state_of(order_id) == OrderState.ESCROWED, what="escrowed")
    expect(status).to_have_text("Escrowed")

    page.get_by_role("link", name="Order details").click()
    expect(page.locator("#order-state")).to_have_text("Escrowed")
    expect(page.get_by_role("button", name="Refund the buyer")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Release to the vendor").click()
    expect(page.locator(".message")).to_contain_text("release to the vendor")
    expect(page.locator("#order-state")).to_have_text(re.compile("^(Releasing|Released)$"))

    settle("BTC", order_id, FundingState.COMPLETED)
    expect(status).to_have_text("Completed")
    expect(page.locator("#status-changed")).to_be_visible()
    page.reload()
    expect(page.locator("#order-state")).to_have_text("Completed")
    expect(page.locator("#events")).to_contain_text("releasing")
    expect(page.locator("#ownership")).to_contain_text(f"vendor ({vendor.user.id})")
    row = EscrowOrder.objects.get(id=order_id)
    (payout,) = Payout.objects.filter(owner_kind="order", owner_id=order_id)
    assert vendor.receivers["BTC"].received() == row.amount - row.fee_amount - payout.network_fee


def test_a_bad_address_or_amount_shows_its_error_next_to_the_field(market, page):
    page.goto("/")
    page.get_by_label("Your BTC refund address").fill(MAINNET_BTC)
    error = page.locator("#refund_address_error")
    expect(error).to_have_text("a mainnet address, but this engine runs bitcoin on regtest")
    expect(error).to_be_visible()
    expect(page.get_by_label("Your BTC refund address")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Your XMR address").fill("not-an-address")
    expect(page.locator("#payout_address_error")).to_contain_text("not a monero address")

    page.get_by_label("You send", exact=True).fill("0.00001")
    expect(page.locator("#amount_from_error")).to_contain_text("must be between")
    expect(page.locator("#quote-min")).to_contain_text("BTC")
    page.get_by_label("You send", exact=True).fill("0.000000001")
    expect(page.locator("#amount_from_error")).to_have_text("BTC has at most 8 decimal places")

    page.get_by_label("You receive", exact=True).fill("1")
    expect(page.get_by_label("You send", exact=True)).to_have_value(re.compile(r"^0\.00[0-9]+$"))
    expect(page.locator("#amount_from_error")).to_be_empty()
    page.get_by_role("button", name="Create swap").click()
    expect(page.get_by_label("Your XMR address")).to_be_focused()
    expect(page.locator("#refund_address_error")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/$"))

    page.get_by_label("Monero → Bitcoin").check()
    expect(page.locator('label[for="refund_address"]')).to_contain_text("Your XMR refund address")
    expect(page.locator("#refund_address_error")).to_contain_text("not a monero address")
    expect(page.locator('.unit[data-unit="from"]')).to_have_text("XMR")
    assert_fits_a_phone(page)


def test_a_swap_left_unpaid_expires_and_a_late_deposit_is_refunded_from_the_page(market, page):
    payout_to, refund_to = receiver("monero"), receiver("bitcoin")
    quote = market.post(
        "/api/quotes",
        {"from_currency": "BTC", "to_currency": "XMR", "amount_from": "1000000", "type": "fixed"},
        format="json",
    ).json()
    swap = market.post(
        "/api/swaps",
        {
            "quote_id": quote["id"],
            "payout_address": payout_to.address,
            "refund_address": refund_to.address,
        },
        format="json",
    ).json()
    SwapOrder.objects.filter(public_id=swap["id"]).update(
        expires_at=timezone.now() + timedelta(seconds=5)
    )

    page.goto(f"/swaps/{swap['id']}/")
    countdown = page.locator("#countdown-value")
    expect(countdown).to_have_text(re.compile(r"^0:0[0-5]$"))
    expect(countdown).to_have_text("expired", timeout=10_000)
    expect(page.locator("#status-label")).to_have_text("Expired")
    expect(page.locator("#swap-actions")).to_be_hidden()

    wait_until(
        lambda: swaps_expire() is not None and swap_state(swap["id"]) == FundingState.EXPIRED,
        timeout=5,
        what="the swap to expire on the server",
    )
    expect(page.locator("#status")).to_have_attribute("data-state", "expired")
    expect(page.locator("#status-label")).to_have_text("Expired")
    expect(countdown).to_have_text("expired")

    pay("bitcoin", swap["deposit_address"], int(swap["amount_from"]))
    mine("bitcoin", 1)
    drive("bitcoin", lambda: swap_state(swap["id"]) == SwapState.ACTION_REQUIRED, what="action")
    expect(page.locator("#status-label")).to_have_text("Action required")
    expect(page.locator("#status-detail")).to_contain_text("paid after the swap expired")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Refund my deposit").click()
    expect(page.locator("#swap-actions")).to_be_hidden()
    expect(page.locator("#status-label")).to_have_text(re.compile("^(Refunding|Refunded)$"))
    drive(
        "bitcoin",
        lambda: swap_state(swap["id"]) == FundingState.REFUNDED,
        what="refunded",
        mine_each=1,
    )
    expect(page.locator("#status-label")).to_have_text("Refunded")
    refund = Payout.objects.get(owner_kind="swap", owner_id=swap_row(swap["id"]).id)
    assert refund_to.received() == int(swap["amount_from"]) - refund.network_fee


def test_an_unpaid_order_counts_down_to_expired_on_its_checkout_page(buyer, vendor, page):
    order = create(buyer, vendor, "BTC")
    EscrowOrder.objects.filter(id=order["id"]).update(
        expires_at=timezone.now() + timedelta(seconds=5)
    )
    log_in(page, buyer)
    page.goto(f"/orders/{order['id']}/pay/")
    countdown = page.locator("#countdown-value")
    expect(countdown).to_have_text("expired", timeout=10_000)

    expect(page.locator("#qr-box")).to_be_hidden()
    expect(page.locator("#pay-closed")).to_be_visible()

    # The page counts down from whole seconds: the server's clock may pass the expiry a
    # moment after the page shows it.
    wait_until(
        lambda: (
            orders_expire() is not None
            and EscrowOrder.objects.get(id=order["id"]).state == FundingState.EXPIRED
        ),
        timeout=5,
        what="the order to expire on the server",
    )
    expect(page.locator("#status")).to_have_attribute("data-state", "expired")
    expect(page.locator("#status-label")).to_have_text("Expired")
    assert_fits_a_phone(page)
