"""The order API's contract: idempotency, object-level permissions, input errors."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connections

from exchange.models import IdempotencyKey
from orders.models import EscrowOrder
from tests.flows import AMOUNT
from tests.people import make_person

MAINNET_BTC = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"


def body(seller, **extra):
    data = {"currency": "BTC", "amount": str(AMOUNT["BTC"]), "vendor": seller.user.username}
    data.update(extra)
    return data


def test_same_key_same_body_replays_the_first_response(buyer, vendor):
    key = uuid.uuid4().hex
    first = buyer.api.post("/api/orders", body(vendor), format="json", HTTP_IDEMPOTENCY_KEY=key)
    again = buyer.api.post("/api/orders", body(vendor), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert EscrowOrder.objects.filter(buyer=buyer.user).count() == 1


def test_same_key_different_body_is_422_and_writes_nothing(buyer, vendor):
    key = uuid.uuid4().hex
    buyer.api.post("/api/orders", body(vendor), format="json", HTTP_IDEMPOTENCY_KEY=key)

    response = buyer.api.post(
        "/api/orders", body(vendor, amount="7000000"), format="json", HTTP_IDEMPOTENCY_KEY=key
    )

    assert response.status_code == 422
    assert EscrowOrder.objects.filter(buyer=buyer.user).count() == 1


def test_same_key_while_the_first_is_in_flight_is_409(buyer, vendor):
    key = uuid.uuid4().hex
    # The first request's key row, claimed and not answered yet.
    from django.test import RequestFactory

    from exchange.idempotency import _body_hash

    request = RequestFactory().post(
        "/api/orders", data=body(vendor), content_type="application/json"
    )
    IdempotencyKey.objects.create(
        scope=f"user:{buyer.user.pk}",
        key=key,
        method="POST",
        path="/api/orders",
        request_hash=_body_hash(request),
    )

    response = buyer.api.post("/api/orders", body(vendor), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 409
    assert not EscrowOrder.objects.filter(buyer=buyer.user).exists()


def test_keys_are_scoped_per_user(buyer, vendor):
    other = make_person()
    key = uuid.uuid4().hex
    mine = buyer.api.post("/api/orders", body(vendor), format="json", HTTP_IDEMPOTENCY_KEY=key)
    theirs = other.api.post("/api/orders", body(vendor), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]


def test_fifty_concurrent_identical_posts_create_one_order(buyer, vendor):
    key = uuid.uuid4().hex
    barrier = threading.Barrier(50)
    answers = []

    def post():
        barrier.wait()
        response = buyer.api.post(
            "/api/orders", body(vendor), format="json", HTTP_IDEMPOTENCY_KEY=key
        )
        answers.append((response.status_code, response.json().get("id")))
        connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert EscrowOrder.objects.filter(buyer=buyer.user).count() == 1
    assert {code for code, _ in answers} <= {201, 409}
    assert len({i for code, i in answers if code == 201}) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/orders/{id}"),
        ("patch", "/api/orders/{id}"),
        ("get", "/api/orders/{id}/history"),
        ("post", "/api/orders/{id}/release"),
        ("post", "/api/orders/{id}/refund"),
        ("post", "/api/orders/{id}/dispute"),
        ("get", "/api/bitcoin/accounts/{id}"),
    ],
)
def test_another_users_order_is_404_on_every_endpoint(buyer, vendor, stranger, method, path):
    order = buyer.api.post("/api/orders", body(vendor), format="json").json()

    response = getattr(stranger.api, method)(
        path.format(id=order["id"]), {"reason": "x", "refund_address": MAINNET_BTC}, format="json"
    )

    assert response.status_code == 404
    assert stranger.api.get("/api/orders").json()["count"] == 0


def test_anonymous_callers_are_refused(live_db):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/orders").status_code == 401
    assert APIClient().post("/api/orders", {}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "abc"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "1.5"}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "9" * 21}, "amount"),
        ({"amount": str(10**19)}, "amount"),
        ({"currency": "DOGE"}, "currency"),
        ({"vendor": "nobody-by-that-name"}, "vendor"),
        ({"refund_address": MAINNET_BTC}, "refund_address"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(buyer, vendor, change, field):
    before = EscrowOrder.objects.count()

    response = buyer.api.post("/api/orders", body(vendor, **change), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert EscrowOrder.objects.count() == before


def test_malformed_json_is_a_400(buyer):
    response = buyer.api.post("/api/orders", data="{not json", content_type="application/json")

    assert response.status_code == 400


def test_list_shows_own_orders_by_role_with_pagination(buyer, vendor):
    for _ in range(3):
        buyer.api.post("/api/orders", body(vendor), format="json")

    as_buyer = buyer.api.get("/api/orders?role=buyer&limit=2").json()
    as_vendor = vendor.api.get("/api/orders?role=vendor&currency=BTC").json()

    assert as_buyer["count"] == 3
    assert len(as_buyer["results"]) == 2
    assert as_buyer["next"]
    assert as_vendor["count"] == 3
    assert buyer.api.get("/api/orders?state=nonsense").status_code == 400


def test_order_response_speaks_base_units_and_display(buyer, vendor):
    order = buyer.api.post("/api/orders", body(vendor), format="json").json()

    assert order["amount"] == "5000000"
    assert order["amount_display"] == "0.05000000"
    assert order["payment_uri"] == f"bitcoin:{order['deposit_address']}?amount=0.05"
    assert order["confirmations_required"] == 1
    history = buyer.api.get(f"/api/orders/{order['id']}/history").json()
    assert [e["kind"] for e in history["events"]] == ["created"]
    account = buyer.api.get(f"/api/bitcoin/accounts/{order['id']}").json()
    assert account["address"] == order["deposit_address"]
    assert buyer.api.get(f"/api/monero-account/accounts/{order['id']}").status_code == 404


def test_a_buyer_cannot_refund_and_a_vendor_cannot_release(buyer, vendor):
    order = buyer.api.post("/api/orders", body(vendor), format="json").json()

    assert buyer.api.post(f"/api/orders/{order['id']}/refund", {}, format="json").status_code == 403
    assert (
        vendor.api.post(f"/api/orders/{order['id']}/release", {}, format="json").status_code == 403
    )
    assert (
        buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json").status_code == 409
    )
