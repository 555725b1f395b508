"""A store's Greenfield webhooks: registered through the API, sent by the real worker to a
receiver on loopback that checks ``BTCPay-Sig`` as the PHP client does."""

from __future__ import annotations

import json

import pytest

from devtools.processes import wait_until
from invoices.models import Invoice, InvoiceStatus, PaymentPrompt
from invoices.services import invoice_create, invoice_mark, invoice_refresh
from stores import permissions as p
from tests.chain import CHAIN_OF, drive, mine, pay
from tests.flows import CREDIT_BLOCKS
from tests.greenfield.receivers import PORT, URL, Receiver, php_check
from tests.merchants import key_for, make_merchant, make_store
from webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def receiver_slow_on_created():
    r = Receiver(slow={"InvoiceCreated": 1.5})
    yield r
    r.close()


@pytest.fixture
def receiver_failing_created():
    r = Receiver(failing=("InvoiceCreated",))
    yield r
    r.close()


def _shop(vendor):
    store = make_store(vendor.user, payment_methods=["BTC-CHAIN"])
    _, api = key_for(vendor.user, f"{p.CAN_MODIFY_WEBHOOKS}:{store.public_id}")
    return store, api


def _register(api, store, **body):
    answer = api.post(
        f"/api/v1/stores/{store.public_id}/webhooks", {"url": URL, **body}, format="json"
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def _delivered(webhook_id: str, n: int):
    return wait_until(
        lambda: (
            WebhookDelivery.objects.filter(
                endpoint__public_id=webhook_id, state=DeliveryState.DELIVERED
            ).count()
            >= n
        ),
        timeout=30,
        what=f"{n} deliveries",
    )


def test_invoice_events_arrive_in_order_signed_with_greenfields_body(
    vendor, celery_worker, receiver_slow_on_created
):
    receiver = receiver_slow_on_created
    store, api = _shop(vendor)
    hook = _register(api, store, secret="the-shops-own-secret-1234567890ab")

    invoice = invoice_create(
        store=store, amount="0.001", currency="BTC", metadata={"orderId": "o-42", "x": [1]}
    )
    invoice_mark(invoice_id=invoice.id, status="settled")
    invoice_refresh(invoice_id=invoice.id)
    _delivered(hook["id"], 2)

    assert [b["type"] for b in receiver.bodies()] == ["InvoiceCreated", "InvoiceSettled"]
    for headers, body in receiver.received:
        assert php_check(body, "the-shops-own-secret-1234567890ab", headers["BTCPay-Sig"])
        assert not php_check(body, "another-secret", headers["BTCPay-Sig"])
        assert headers["Content-Type"] == "application/json"
    created, settled = receiver.bodies()
    for event in (created, settled):
        assert event["webhookId"] == hook["id"]
        assert event["originalDeliveryId"] == event["deliveryId"]
        assert event["isRedelivery"] is False
        assert event["storeId"] == store.public_id
        assert event["invoiceId"] == invoice.public_id
        assert event["metadata"] == {"orderId": "o-42", "x": [1]}
        assert isinstance(event["timestamp"], int)
    assert settled["manuallyMarked"] is True
    assert settled["overPaid"] is False
    assert created["timestamp"] <= settled["timestamp"]
    # The worker runs two deliveries at once; the settled one still waited for the slow
    # answer to the created one before it was sent.
    assert receiver.times[settled["deliveryId"]][0] >= receiver.times[created["deliveryId"]][1]

    # The delivery log, newest first, and the exact body each one sent.
    base = f"/api/v1/stores/{store.public_id}/webhooks/{hook['id']}/deliveries"
    listed = api.get(base).json()
    assert [d["id"] for d in listed] == [settled["deliveryId"], created["deliveryId"]]
    assert {(d["status"], d["httpCode"]) for d in listed} == {("HttpSuccess", 200)}
    assert api.get(f"{base}/{created['deliveryId']}/").json()["status"] == "HttpSuccess"
    sent = api.get(f"{base}/{created['deliveryId']}/request")
    assert sent.status_code == 200
    assert sent.content == receiver.received[0][1]


def test_a_paid_invoices_events_carry_the_payment_in_greenfields_order(
    vendor, celery_worker, receiver
):
    store, api = _shop(vendor)
    hook = _register(api, store)
    invoice = invoice_create(
        store=store, amount="0.05", currency="BTC", metadata={"orderId": "paid-1"}
    )
    prompt = PaymentPrompt.objects.select_related("account").get(invoice=invoice)
    chain = CHAIN_OF["BTC"]

    txid = pay(chain, prompt.account.address, prompt.due)
    drive(
        chain,
        lambda: Invoice.objects.get(id=invoice.id).status == InvoiceStatus.PROCESSING,
        what="processing",
    )
    mine(chain, CREDIT_BLOCKS["BTC"])
    drive(
        chain,
        lambda: Invoice.objects.get(id=invoice.id).status == InvoiceStatus.SETTLED,
        what="settled",
    )
    _delivered(hook["id"], 5)

    events = receiver.bodies()
    assert [e["type"] for e in events] == [
        "InvoiceCreated",
        "InvoiceReceivedPayment",
        "InvoiceProcessing",
        "InvoicePaymentSettled",
        "InvoiceSettled",
    ]
    for headers, body in receiver.received:
        assert php_check(body, hook["secret"], headers["BTCPay-Sig"])
    seen, settled_payment = events[1], events[3]
    for event, status in ((seen, "Processing"), (settled_payment, "Settled")):
        assert event["afterExpiration"] is False
        assert event["paymentMethodId"] == "BTC-CHAIN"
        assert event["payment"]["id"].startswith(txid)
        assert event["payment"]["status"] == status
        assert event["payment"]["destination"] == prompt.account.address
        assert event["metadata"] == {"orderId": "paid-1"}
    assert events[2]["overPaid"] is False
    assert events[4]["manuallyMarked"] is False
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)


def test_an_internal_target_is_refused_at_delivery_too(vendor, celery_worker, receiver):
    """A webhook whose address became internal after it was registered (DNS changed: here
    the row is changed under it) is refused at each attempt, logged as refused."""
    store, api = _shop(vendor)
    hook = _register(api, store, automaticRedelivery=False)
    WebhookEndpoint.objects.filter(public_id=hook["id"]).update(url="http://10.1.2.3/hook")

    invoice_create(store=store, amount="0.001", currency="BTC")
    delivery = wait_until(
        lambda: WebhookDelivery.objects.filter(
            endpoint__public_id=hook["id"], state=DeliveryState.FAILED
        ).first(),
        timeout=30,
        what="the refused delivery",
    )
    (attempt,) = delivery.log.all()
    assert attempt.error.startswith("refused:")
    assert "10.1.2.3" in attempt.error
    assert receiver.received == []
    base = f"/api/v1/stores/{store.public_id}/webhooks/{hook['id']}/deliveries"
    shown = api.get(f"{base}/{delivery.public_id}").json()
    assert shown["status"] == "Failed"
    assert shown["httpCode"] is None
    assert shown["errorMessage"].startswith("refused:")


def test_an_invalid_invoice_and_webhooks_that_want_other_events(vendor, celery_worker, receiver):
    store, api = _shop(vendor)
    only_invalid = _register(
        api,
        store,
        authorizedEvents={"everything": False, "specificEvents": ["InvoiceInvalid"]},
    )
    disabled = _register(api, store, enabled=False)

    invoice = invoice_create(store=store, amount="0.001", currency="BTC")
    invoice_mark(invoice_id=invoice.id, status="INVALID")
    _delivered(only_invalid["id"], 1)

    (event,) = receiver.bodies()
    assert event["type"] == "InvoiceInvalid"
    assert event["manuallyMarked"] is True
    assert not WebhookDelivery.objects.filter(endpoint__public_id=disabled["id"]).exists()


def test_a_failing_delivery_does_not_hold_back_later_ones_and_can_be_redelivered(
    vendor, celery_worker, receiver_failing_created
):
    store, api = _shop(vendor)
    hook = _register(api, store)
    secret = hook["secret"]

    invoice = invoice_create(store=store, amount="0.001", currency="BTC")
    invoice_mark(invoice_id=invoice.id, status="Settled")
    _delivered(hook["id"], 1)

    bodies = receiver_failing_created.bodies()
    assert "InvoiceSettled" in [b["type"] for b in bodies]
    created = WebhookDelivery.objects.get(
        endpoint__public_id=hook["id"], event__type="InvoiceCreated"
    )
    # The created one fails on every attempt until its retries are spent (WEBHOOK_RETRY_DELAYS
    # is 1 s each in tests); the settled one was delivered before its last attempt.
    wait_until(
        lambda: WebhookDelivery.objects.get(id=created.id).state == DeliveryState.FAILED,
        timeout=60,
        what="the created delivery's retries spent",
    )
    created.refresh_from_db()
    delivered = WebhookDelivery.objects.get(
        endpoint__public_id=hook["id"], event__type="InvoiceSettled"
    )
    assert created.attempts == 7
    assert delivered.delivered_at < created.log.order_by("-number").first().created_at
    base = f"/api/v1/stores/{store.public_id}/webhooks/{hook['id']}/deliveries"
    shown = api.get(f"{base}/{created.public_id}").json()
    assert shown["status"] == "HttpError"
    assert shown["httpCode"] == 500
    assert shown["errorMessage"] == "HTTP Error Code 500"

    # Redeliver the settled one: a new delivery naming the first.
    settled = next(b for b in bodies if b["type"] == "InvoiceSettled")
    answer = api.post(f"{base}/{settled['deliveryId']}/redeliver", format="json")
    assert answer.status_code == 200, answer.content
    new_id = answer.json()
    assert isinstance(new_id, str)
    assert new_id != settled["deliveryId"]
    wait_until(
        lambda: new_id in [b["deliveryId"] for b in receiver_failing_created.bodies()],
        timeout=30,
        what="the redelivery",
    )
    headers, body = next(
        (h, b)
        for h, b in receiver_failing_created.received
        if json.loads(b)["deliveryId"] == new_id
    )
    again = json.loads(body)
    assert php_check(body, secret, headers["BTCPay-Sig"])
    assert again["isRedelivery"] is True
    assert again["originalDeliveryId"] == settled["deliveryId"]
    assert {k: v for k, v in again.items() if k not in ("deliveryId", "isRedelivery")} == {
        k: v for k, v in settled.items() if k not in ("deliveryId", "isRedelivery")
    }
    # A redelivery of the redelivery still names the first delivery.
    twice = api.post(f"{base}/{new_id}/redeliver/").json()
    sent = api.get(f"{base}/{twice}/request").json()
    assert sent["originalDeliveryId"] == settled["deliveryId"]
    assert sent["deliveryId"] == twice


# --- the endpoints, without the worker --------------------------------------------------


@pytest.mark.django_db
def test_crud_with_a_generated_secret_shown_once():
    merchant = make_merchant()
    store = make_store(merchant)
    _, api = key_for(merchant, f"{p.CAN_MODIFY_WEBHOOKS}:{store.public_id}")
    base = f"/api/v1/stores/{store.public_id}/webhooks"

    made = api.post(f"{base}/", {"url": URL, "somethingNew": 1, "secret": None}, format="json")
    assert made.status_code == 200, made.content
    hook = made.json()
    assert len(hook["secret"]) >= 32
    assert hook["enabled"] is True
    assert hook["automaticRedelivery"] is True
    assert hook["authorizedEvents"] == {"everything": True, "specificEvents": []}

    assert [h["id"] for h in api.get(base).json()] == [hook["id"]]
    assert "secret" not in api.get(base).json()[0]
    assert "secret" not in api.get(f"{base}/{hook['id']}").json()

    changed = api.put(
        f"{base}/{hook['id']}/",
        {
            "url": URL + "/v2",
            "enabled": False,
            "automaticRedelivery": False,
            "authorizedEvents": {"everything": False, "specificEvents": ["InvoiceSettled"]},
        },
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert "secret" not in changed.json()
    assert changed.json() == {
        "id": hook["id"],
        "url": URL + "/v2",
        "enabled": False,
        "automaticRedelivery": False,
        "authorizedEvents": {"everything": False, "specificEvents": ["InvoiceSettled"]},
    }
    bad = api.put(
        f"{base}/{hook['id']}",
        {"url": URL, "authorizedEvents": {"specificEvents": ["NoSuchEvent"]}},
        format="json",
    )
    assert bad.status_code == 422
    assert bad.json()[0]["path"].startswith("authorizedEvents.specificEvents")

    assert api.delete(f"{base}/{hook['id']}").status_code == 200
    gone = api.get(f"{base}/{hook['id']}")
    assert gone.status_code == 404
    assert gone.json()["code"] == "webhook-not-found"


@pytest.mark.django_db
def test_permissions_and_other_stores_webhooks():
    merchant = make_merchant()
    store, other = make_store(merchant), make_store(merchant)
    _, api = key_for(merchant, f"{p.CAN_MODIFY_WEBHOOKS}:{store.public_id}")
    _, both = key_for(merchant, p.CAN_MODIFY_WEBHOOKS)
    _, viewer = key_for(merchant, f"{p.CAN_MODIFY_INVOICES}:{store.public_id}")
    _, settings_key = key_for(merchant, f"{p.CAN_MODIFY_STORE_SETTINGS}:{store.public_id}")
    theirs = both.post(
        f"/api/v1/stores/{other.public_id}/webhooks", {"url": URL}, format="json"
    ).json()

    refused = viewer.get(f"/api/v1/stores/{store.public_id}/webhooks")
    assert refused.status_code == 403
    assert refused.json()["missingPermission"] == p.CAN_MODIFY_WEBHOOKS
    assert (
        viewer.post(
            f"/api/v1/stores/{store.public_id}/webhooks", {"url": URL}, format="json"
        ).status_code
        == 403
    )
    # The store-settings permission includes the webhooks one, as in BTCPay.
    assert settings_key.get(f"/api/v1/stores/{store.public_id}/webhooks").status_code == 200
    # Another store's webhook, through this store or through the other one.
    for path in (
        f"/api/v1/stores/{store.public_id}/webhooks/{theirs['id']}",
        f"/api/v1/stores/{store.public_id}/webhooks/{theirs['id']}/deliveries",
    ):
        answer = api.get(path)
        assert answer.status_code == 404
        assert answer.json()["code"] == "webhook-not-found"
    assert (
        api.delete(f"/api/v1/stores/{store.public_id}/webhooks/{theirs['id']}").status_code == 404
    )
    assert api.get(f"/api/v1/stores/{other.public_id}/webhooks").status_code == 404
    assert both.get(f"/api/v1/stores/{other.public_id}/webhooks/{theirs['id']}").status_code == 200
    missing = api.get(f"/api/v1/stores/{store.public_id}/webhooks/x/deliveries/nope")
    assert missing.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:8000/",
        f"http://127.0.0.1:{PORT + 100}/",
        "http://[::ffff:127.0.0.1]/",
        "http://0x7f000001/",
        "ftp://example.com/",
    ],
)
def test_internal_targets_are_refused_at_registration(url):
    merchant = make_merchant()
    store = make_store(merchant)
    _, api = key_for(merchant, f"{p.CAN_MODIFY_WEBHOOKS}:{store.public_id}")
    answer = api.post(f"/api/v1/stores/{store.public_id}/webhooks", {"url": url}, format="json")
    assert answer.status_code == 422, answer.content
    assert answer.json()[0]["path"] == "url"
    assert api.get(f"/api/v1/stores/{store.public_id}/webhooks").json() == []


@pytest.mark.django_db
def test_at_most_so_many_webhooks_per_store(settings):
    settings.GREENFIELD_MAX_WEBHOOKS_PER_STORE = 2
    merchant = make_merchant()
    store = make_store(merchant)
    _, api = key_for(merchant, f"{p.CAN_MODIFY_WEBHOOKS}:{store.public_id}")
    base = f"/api/v1/stores/{store.public_id}/webhooks"
    for _ in range(2):
        assert api.post(base, {"url": URL}, format="json").status_code == 200
    third = api.post(base, {"url": URL}, format="json")
    assert third.status_code == 409
    assert third.json()["code"] == "too-many-webhooks"
