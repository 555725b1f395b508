"""Refunds through Greenfield, as a shop's plugin asks for them: ``POST …/refund`` in both
route forms answers ``PullPaymentData`` with the claim page's ``viewLink``, behind the
pull-payment permission; an invoice that cannot be refunded is 400 ``non-refundable``; a
bad request is 422 naming its field; ``GET pull-payments/{id}`` is anonymous."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from invoices.models import Refund
from invoices.services import invoice_create
from stores import permissions as p
from tests.fast import invoice_flows
from tests.fast.invoice_flows import partly_paid
from tests.merchants import key_for, make_store

pytestmark = pytest.mark.django_db

# The in-memory bitcoin chain and a store taking it (tests.fast.invoice_flows).
chain, store = invoice_flows.chain, invoice_flows.store

PULL_PAYMENT_FIELDS = {
    "id",
    "name",
    "description",
    "currency",
    "amount",
    "period",
    "BOLT11Expiration",
    "autoApproveClaims",
    "archived",
    "viewLink",
    "startsAt",
    "expiresAt",
}


def api_with(store, *policies):
    return key_for(store.owner, *(f"{policy}:{store.public_id}" for policy in policies))[1]


@pytest.fixture
def api(store):
    return api_with(store, p.CAN_CREATE_NON_APPROVED_PULL_PAYMENTS)


def refund_path(store, invoice, *, store_less=False):
    if store_less:
        return f"/api/v1/invoices/{invoice.public_id}/refund"
    return f"/api/v1/stores/{store.public_id}/invoices/{invoice.public_id}/refund"


def test_a_refund_is_answered_as_a_pull_payment_with_its_claim_page(api, store, chain):
    invoice = partly_paid(chain, store, 60_000)

    response = api.post(
        refund_path(store, invoice),
        {
            "refundVariant": "RateThen",
            "paymentMethod": "BTC",
            "name": "Sorry",
            "description": "Out of stock",
            "customAmount": None,
            "unknownField": 1,
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    refund = Refund.objects.get(public_id=body["id"])
    assert set(body) == PULL_PAYMENT_FIELDS
    assert body == {
        **body,
        "name": "Sorry",
        "description": "Out of stock",
        "currency": "BTC",
        "amount": "0.00060000",
        "autoApproveClaims": True,
        "archived": False,
        "viewLink": f"http://testserver/refunds/{refund.public_id}",
        "startsAt": int(refund.created_at.timestamp()),
    }
    assert len(body["id"]) == 22
    # Anyone holding the id reads it, as BTCPay's pull payments.
    anonymous = APIClient().get(f"/api/v1/pull-payments/{refund.public_id}")
    assert anonymous.status_code == 200
    assert anonymous.json() == body
    missing = APIClient().get("/api/v1/pull-payments/nothing")
    assert missing.status_code == 404
    assert missing.json()["code"] == "pullpayment-not-found"


def test_the_store_less_route_with_a_slash_and_a_custom_amount_in_part(api, store, chain):
    invoice = partly_paid(chain, store, 60_000)

    response = api.post(
        refund_path(store, invoice, store_less=True) + "/",
        {
            "refundVariant": "Custom",
            "customAmount": 0.0005,
            "customCurrency": "BTC",
            "subtractPercentage": "10",
            "payoutMethods": ["BTC-CHAIN"],
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["amount"] == "0.00045000"
    assert response.json()["name"] == f"Refund {invoice.public_id}"


def test_above_the_approval_threshold_claims_are_not_approved_automatically(api, store, chain):
    invoice = partly_paid(chain, store, 1_000_001, price="0.02")

    response = api.post(refund_path(store, invoice), {"refundVariant": "RateThen"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["autoApproveClaims"] is False


def test_the_pull_payment_permission_is_needed_or_a_policy_that_includes_it(store, chain):
    invoice = partly_paid(chain, store, 60_000)
    body = {"refundVariant": "RateThen"}

    refused = api_with(store, p.CAN_MODIFY_INVOICES).post(
        refund_path(store, invoice), body, format="json"
    )
    allowed = api_with(store, p.CAN_MODIFY_STORE_SETTINGS).post(
        refund_path(store, invoice, store_less=True), body, format="json"
    )

    assert refused.status_code == 403
    assert refused.json()["missingPermission"] == p.CAN_CREATE_NON_APPROVED_PULL_PAYMENTS
    assert allowed.status_code == 200, allowed.content
    assert Refund.objects.filter(invoice=invoice).count() == 1


def test_an_invoice_that_cannot_be_refunded_is_400_non_refundable(api, store, chain):
    unpaid = invoice_create(store=store, amount="0.001", currency="BTC")

    response = api.post(refund_path(store, unpaid), {"refundVariant": "RateThen"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"code": "non-refundable", "message": "Cannot refund this invoice"}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, "refundVariant"),
        ({"refundVariant": "Fiat"}, "refundVariant"),
        ({"refundVariant": "OverpaidAmount"}, "refundVariant"),
        ({"refundVariant": "RateThen", "subtractPercentage": "ten"}, "subtractPercentage"),
        ({"refundVariant": "RateThen", "subtractPercentage": 150}, "subtractPercentage"),
        ({"refundVariant": "RateThen", "payoutMethods": ["LTC-CHAIN"]}, "payoutMethods"),
        ({"refundVariant": "RateThen", "customAmount": "1"}, "customAmount"),
        ({"refundVariant": "Custom", "customCurrency": "BTC"}, "customAmount"),
        ({"refundVariant": "Custom", "customAmount": "1", "customCurrency": "BTC"}, "customAmount"),
    ],
)
def test_a_bad_request_is_422_naming_its_field_and_writes_nothing(api, store, chain, body, path):
    invoice = partly_paid(chain, store, 60_000)

    response = api.post(refund_path(store, invoice), body, format="json")

    assert response.status_code == 422, response.content
    assert [error["path"] for error in response.json()] == [path]
    assert not Refund.objects.filter(invoice=invoice).exists()


def test_the_store_cancels_a_refund_not_claimed_yet_as_it_archives_a_pull_payment(
    api, store, chain
):
    invoice = partly_paid(chain, store, 60_000)
    pull = api.post(refund_path(store, invoice), {"refundVariant": "RateThen"}, format="json")
    path = f"/api/v1/stores/{store.public_id}/pull-payments/{pull.json()['id']}"
    other = make_store(store.owner, name="Other")
    elsewhere = api_with(other, p.CAN_CREATE_NON_APPROVED_PULL_PAYMENTS).delete(
        f"/api/v1/stores/{other.public_id}/pull-payments/{pull.json()['id']}"
    )

    cancelled = api.delete(path)
    again = api.delete(path + "/")

    assert elsewhere.status_code == 404
    assert elsewhere.json()["code"] == "pullpayment-not-found"
    assert cancelled.status_code == 200
    assert again.status_code == 409
    read = APIClient().get(f"/api/v1/pull-payments/{pull.json()['id']}").json()
    assert read["archived"] is True


def test_a_refund_asked_again_with_its_idempotency_key_is_answered_again(api, store, chain):
    invoice = partly_paid(chain, store, 60_000)
    ask = {
        "refundVariant": "Custom",
        "customAmount": "0.0002",
        "customCurrency": "BTC",
        "paymentMethod": "BTC",
    }

    def asked(key: str):
        return api.post(refund_path(store, invoice), ask, format="json", HTTP_IDEMPOTENCY_KEY=key)

    first, again = asked("shop-refund-1"), asked("shop-refund-1")

    assert (first.status_code, again.status_code) == (200, 200), again.content
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Refund.objects.filter(invoice=invoice).count() == 1
    # Another key is another request: the invoice has had its one refund.
    another = asked("shop-refund-2")
    assert another.status_code == 400, another.content
    assert another.json()["code"] == "non-refundable"
    assert Refund.objects.filter(invoice=invoice).count() == 1
