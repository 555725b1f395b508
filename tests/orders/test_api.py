"""The order API's contract: idempotency, object-level permissions, input errors."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from rest_framework.test import APIClient

from exchange.models import IdempotencyKey
from orders.models import EscrowOrder
from tests.chain import receiver
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


class FirstRequestInFlight:
    """A first request with an Idempotency-Key that is still running: it waits on a row
    lock the test holds (inserting an order checks its vendor row under a shared lock), as
    a slow request would, until ``finish``."""

    def __init__(self, person, seller, key: str):
        self.person, self.seller, self.key = person, seller, key
        self.answer = None
        self._locked, self._release = threading.Event(), threading.Event()
        self._holder = threading.Thread(target=self._hold_vendor_row)
        self._holder.start()
        self._locked.wait(10)
        self._first = threading.Thread(target=self._post)
        self._first.start()

    def _hold_vendor_row(self):
        from django.contrib.auth import get_user_model
        from django.db import transaction

        with transaction.atomic():
            get_user_model().objects.select_for_update().get(pk=self.seller.user.pk)
            self._locked.set()
            self._release.wait(30)
        connections.close_all()

    def _post(self):
        client = APIClient()
        client.credentials(**self.person.api._credentials)
        self.answer = client.post(
            "/api/orders", body(self.seller), format="json", HTTP_IDEMPOTENCY_KEY=self.key
        )
        connections.close_all()

    def wait_until_running(self):
        from devtools.processes import wait_until

        wait_until(
            lambda: IdempotencyKey.objects.filter(key=self.key).exists(),
            timeout=10,
            what="the first request to claim its key",
        )
        time.sleep(0.3)  # it now waits on the vendor row

    def finish(self):
        self._release.set()
        self._holder.join(30)
        self._first.join(30)
        return self.answer


def test_same_key_while_the_first_is_in_flight_is_409(buyer, vendor):
    key = uuid.uuid4().hex
    first = FirstRequestInFlight(buyer, vendor, key)
    first.wait_until_running()

    second = buyer.api.post("/api/orders", body(vendor), format="json", HTTP_IDEMPOTENCY_KEY=key)
    answer = first.finish()

    assert second.status_code == 409
    assert answer.status_code == 201
    assert EscrowOrder.objects.filter(buyer=buyer.user).count() == 1


def test_a_retry_long_after_the_first_never_runs_the_action_again(buyer, vendor, monkeypatch):
    """However long the first request takes, a retry cannot take its key over while it may
    still commit: the action and its stored answer are one transaction."""
    import exchange.idempotency

    # A retry arriving long after the first began (an engine that took keys over after a
    # while would do so now).
    monkeypatch.setattr(exchange.idempotency, "ABANDONED_AFTER", timedelta(0), raising=False)
    key = uuid.uuid4().hex
    first = FirstRequestInFlight(buyer, vendor, key)
    first.wait_until_running()

    retries = []

    def retry():
        client = APIClient()
        client.credentials(**buyer.api._credentials)
        retries.append(
            client.post("/api/orders", body(vendor), format="json", HTTP_IDEMPOTENCY_KEY=key)
        )
        connections.close_all()

    retrying = threading.Thread(target=retry)
    retrying.start()
    time.sleep(1.0)
    answer = first.finish()
    retrying.join(30)
    replay = buyer.api.post("/api/orders", body(vendor), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert answer.status_code == 201
    assert retries[0].status_code == 409
    assert replay.status_code == 201
    assert replay.json()["id"] == answer.json()["id"]
    assert EscrowOrder.objects.filter(buyer=buyer.user).count() == 1


def test_a_first_request_that_died_is_taken_over_at_once_and_runs_once(buyer, vendor):
    """A first request killed before it committed left its key unanswered and its action
    rolled back: the retry runs the action, once."""
    from django.test import RequestFactory

    from exchange.idempotency import _body_hash

    key = uuid.uuid4().hex
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

    retry = buyer.api.post("/api/orders", body(vendor), format="json", HTTP_IDEMPOTENCY_KEY=key)
    replay = buyer.api.post("/api/orders", body(vendor), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert retry.status_code == 201
    assert replay.json()["id"] == retry.json()["id"]
    assert EscrowOrder.objects.filter(buyer=buyer.user).count() == 1


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


def test_a_page_is_never_larger_than_the_ceiling(buyer, vendor, settings, monkeypatch):
    from exchange.pagination import Pagination

    assert Pagination.max_limit == settings.API_MAX_PAGE_SIZE
    for _ in range(3):
        buyer.api.post("/api/orders", body(vendor), format="json")
    monkeypatch.setattr(Pagination, "max_limit", 2)
    page = buyer.api.get("/api/orders?limit=1000000").json()
    assert page["count"] == 3
    assert len(page["results"]) == 2


def test_the_vendor_does_not_see_the_buyers_refund_address(buyer, vendor, staff):
    refund_to = receiver("bitcoin").address
    order = buyer.api.post(
        "/api/orders", body(vendor, refund_address=refund_to), format="json"
    ).json()
    assert order["refund_address"] == refund_to
    assert buyer.api.get(f"/api/orders/{order['id']}").json()["refund_address"] == refund_to
    assert staff.api.get(f"/api/orders/{order['id']}").json()["refund_address"] == refund_to
    assert vendor.api.get(f"/api/orders/{order['id']}").json()["refund_address"] == ""
    listed = vendor.api.get("/api/orders?role=vendor").json()["results"]
    assert [o["refund_address"] for o in listed if o["id"] == order["id"]] == [""]
    pages = {}
    for name, who in (("buyer", buyer), ("vendor", vendor)):
        browser = Client()
        browser.force_login(who.user)
        pages[name] = browser.get(f"/orders/{order['id']}/").content.decode()
    assert refund_to in pages["buyer"]
    assert refund_to not in pages["vendor"]


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
