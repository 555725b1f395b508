"""The views through Django's test client: who may see what, CSRF on the action forms,
refusals shown beside their form, and whole units turned into base units exactly."""

from __future__ import annotations

import pytest
from django import forms
from django.test import Client

from funding.models import FundingState
from orders.models import EscrowOrder
from swaps.models import SwapOrder
from swaps.quotes import quote_create
from swaps.services import swap_create
from tests.chain import receiver
from tests.flows import create
from web.forms import whole_to_base_units


def client_of(person=None, **kwargs) -> Client:
    client = Client(**kwargs)
    if person is not None:
        client.force_login(person.user)
    return client


def order_urls(order_id: int) -> list[str]:
    return [
        f"/orders/{order_id}/",
        f"/orders/{order_id}/pay/",
        f"/orders/{order_id}/status.json",
    ]


def test_anonymous_visitors_are_sent_to_the_login_page(live_db):
    client = Client()
    for url in ["/orders/", "/orders/new/", *order_urls(1)]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"/accounts/login/?next={url}"
    assert client.post("/orders/1/release/").status_code == 302


def test_the_public_pages_answer_without_an_account(live_db):
    client = Client()
    swap_page = client.get("/")
    assert swap_page.status_code == 200
    assert b'id="swap-form"' in swap_page.content
    login = client.get("/accounts/login/")
    assert login.status_code == 200
    assert b'<label for="id_username">' in login.content


def test_an_order_is_visible_to_its_buyer_vendor_and_staff_only(buyer, vendor, staff, stranger):
    order = create(buyer, vendor, "BTC")
    for person in (buyer, vendor, staff):
        client = client_of(person)
        for url in order_urls(order["id"]):
            assert client.get(url).status_code == 200, url
    outsider = client_of(stranger)
    for url in order_urls(order["id"]):
        assert outsider.get(url).status_code == 404, url
    response = outsider.post(f"/orders/{order['id']}/release/", {"confirmed": "1"})
    assert response.status_code == 404
    assert EscrowOrder.objects.get(id=order["id"]).state == FundingState.AWAITING_DEPOSIT


def test_the_order_lists_show_bought_and_sold_orders(buyer, vendor):
    order = create(buyer, vendor, "BTC")
    bought = client_of(buyer).get("/orders/").content.decode()
    sold = client_of(vendor).get("/orders/").content.decode()
    link = f'href="/orders/{order["id"]}/"'
    assert link in bought.split('id="sold-heading"')[0]
    assert link in sold.split('id="sold-heading"')[1]
    assert 'title="5000000 satoshi"' in bought


def test_the_status_json_reads_the_order(buyer, vendor):
    order = create(buyer, vendor, "BTC")
    body = client_of(buyer).get(f"/orders/{order['id']}/status.json").json()
    assert body["state"] == "awaiting_deposit"
    assert body["label"] == "Waiting for payment"
    assert 890 <= body["expires_in"] <= 900
    assert body["missing"] == "5000000"
    assert body["final"] is False
    assert (body["payable"], body["closed"]) == (True, False)


@pytest.mark.parametrize("action", ["release", "refund", "dispute"])
def test_the_action_forms_refuse_a_post_without_the_csrf_token(buyer, vendor, action):
    order = create(buyer, vendor, "BTC")
    actor = vendor if action == "refund" else buyer
    client = client_of(actor, enforce_csrf_checks=True)
    response = client.post(
        f"/orders/{order['id']}/{action}/", {"confirmed": "1", "reason": "no token"}
    )
    assert response.status_code == 403
    assert EscrowOrder.objects.get(id=order["id"]).state == FundingState.AWAITING_DEPOSIT


def test_an_action_with_the_csrf_token_reaches_the_service_and_its_refusal_is_shown(buyer, vendor):
    order = create(buyer, vendor, "BTC")
    client = client_of(buyer, enforce_csrf_checks=True)
    client.get(f"/orders/{order['id']}/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        f"/orders/{order['id']}/release/", {"confirmed": "1", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 409
    page = response.content.decode()
    message = f"escrow order {order['id']} is awaiting_deposit; it cannot go to releasing"
    assert f'<p class="field-error" id="release_error" role="alert">{message}</p>' in page


def test_an_unconfirmed_action_asks_first_and_changes_nothing(buyer, vendor):
    order = create(buyer, vendor, "BTC")
    response = client_of(buyer).post(f"/orders/{order['id']}/dispute/", {"reason": "late"})
    assert response.status_code == 200
    assert b'name="confirmed" value="1"' in response.content
    assert b"Stop the escrow and ask staff to decide?" in response.content
    assert EscrowOrder.objects.get(id=order["id"]).state == FundingState.AWAITING_DEPOSIT


def test_the_new_order_form_creates_the_order_in_base_units(buyer, vendor):
    client = client_of(buyer)
    response = client.post(
        "/orders/new/", {"currency": "BTC", "amount": "0.0123", "vendor": vendor.user.username}
    )
    order = EscrowOrder.objects.filter(buyer=buyer.user).latest("id")
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.id}/pay/"
    assert order.amount == 1_230_000

    refused = client.post(
        "/orders/new/", {"currency": "BTC", "amount": "0.01", "vendor": "nobody-by-that-name"}
    )
    assert refused.status_code == 400
    assert b'id="id_vendor_error" aria-live="polite">no such vendor</p>' in refused.content


@pytest.mark.parametrize(
    ("text", "currency", "base_units"),
    [
        ("0.05", "BTC", 5_000_000),
        ("1", "BTC", 100_000_000),
        ("0,00000001", "BTC", 1),
        ("2.5", "XMR", 2_500_000_000_000),
        ("0.000000000001", "XMR", 1),
    ],
)
def test_whole_units_become_base_units_exactly(text, currency, base_units):
    assert whole_to_base_units(text, currency) == base_units


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("0.000000001", "BTC"),
        ("0", "BTC"),
        ("-1", "BTC"),
        ("1e3", "XMR"),
        ("abc", "XMR"),
        ("", "BTC"),
    ],
)
def test_anything_else_is_refused(text, currency):
    with pytest.raises(forms.ValidationError):
        whole_to_base_units(text, currency)


def test_a_swap_made_by_a_signed_in_user_is_theirs_alone(market, buyer, stranger):
    payout_to, refund_to = receiver("monero"), receiver("bitcoin")

    def new_swap(user):
        quote = quote_create(
            from_currency="BTC", to_currency="XMR", kind="fixed", amount_from=1_000_000, user=user
        )
        return swap_create(
            quote_id=quote.public_id,
            payout_address=payout_to.address,
            refund_address=refund_to.address,
            client=f"user:{user.pk}" if user else "anon:127.0.0.1",
            user=user,
        )

    owned, anonymous = new_swap(buyer.user), new_swap(None)
    for suffix in ("", "status.json"):
        owned_url = f"/swaps/{owned.public_id}/{suffix}"
        assert client_of(buyer).get(owned_url).status_code == 200
        assert client_of(stranger).get(owned_url).status_code == 404
        assert Client().get(owned_url).status_code == 404
        anonymous_url = f"/swaps/{anonymous.public_id}/{suffix}"
        assert Client().get(anonymous_url).status_code == 200
        assert client_of(stranger).get(anonymous_url).status_code == 200
    page = client_of(buyer).get(f"/swaps/{owned.public_id}/").content.decode()
    assert "<svg" in page
    assert f"bitcoin:{SwapOrder.objects.get(id=owned.id).account.address}?amount=0.01" in page
