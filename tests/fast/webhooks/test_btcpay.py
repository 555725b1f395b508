"""Greenfield webhook bodies and their signature, without a request or a database."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from greenfield.webhooks import WebhookInput, delivery_status
from webhooks import btcpay
from webhooks.models import WebhookDelivery

SECRET = "s3cr3t-of-the-shop"


def php_check(body: bytes, secret: str, header: str) -> bool:
    """btcpayserver-greenfield-php's check, in Python:
    ``hash_equals('sha256=' . hash_hmac('sha256', $body, $secret), $header)``."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())


def payload(type: str, **data) -> dict:  # noqa: A002 - BTCPay's name
    return btcpay.event_payload(
        type=type,
        data=data,
        timestamp=1_700_000_000,
        store_id="STORE",
        invoice_id="INV",
        metadata={"orderId": "o-1", "posData": {"a": [1, "é"]}},
        destination="bcrt1qdest",
    )


def test_the_signature_is_what_the_php_client_checks():
    body = btcpay.delivery_body(
        payload("InvoiceCreated"),
        delivery_id="D1",
        webhook_id="W1",
        original_delivery_id="D1",
        is_redelivery=False,
    )
    header = btcpay.signature(secret=SECRET, body=body)

    assert header.startswith("sha256=")
    assert len(header) == 7 + 64
    assert php_check(body, SECRET, header)
    assert btcpay.verify(secret=SECRET, body=body, header=header)
    assert not php_check(body, "another secret", header)
    assert not php_check(body + b" ", SECRET, header)
    assert not btcpay.verify(secret=SECRET, body=body.replace(b"o-1", b"o-2"), header=header)


def test_the_body_has_greenfields_fields_in_order_and_is_ascii():
    body = btcpay.delivery_body(
        payload("InvoiceSettled", manuallyMarked=True, overPaid=False, partiallyPaid=False),
        delivery_id="D2",
        webhook_id="W1",
        original_delivery_id="D1",
        is_redelivery=True,
    )

    body.decode("ascii")  # what is kept as text is the bytes sent
    assert json.loads(body) == {
        "deliveryId": "D2",
        "webhookId": "W1",
        "originalDeliveryId": "D1",
        "isRedelivery": True,
        "type": "InvoiceSettled",
        "timestamp": 1_700_000_000,
        "storeId": "STORE",
        "invoiceId": "INV",
        "metadata": {"orderId": "o-1", "posData": {"a": [1, "é"]}},
        "manuallyMarked": True,
        "overPaid": False,
    }
    assert list(json.loads(body))[:4] == [
        "deliveryId",
        "webhookId",
        "originalDeliveryId",
        "isRedelivery",
    ]


@pytest.mark.parametrize(
    ("type", "fields"),
    [
        ("InvoiceCreated", {}),
        ("InvoiceProcessing", {"overPaid": True}),
        ("InvoiceExpired", {"partiallyPaid": True}),
        ("InvoiceSettled", {"manuallyMarked": False, "overPaid": True}),
        ("InvoiceInvalid", {"manuallyMarked": False}),
    ],
)
def test_each_status_event_carries_its_own_fields(type, fields):  # noqa: A002
    data = {"manuallyMarked": False, "overPaid": True, "partiallyPaid": True}
    extra = {
        k: v
        for k, v in payload(type, **data).items()
        if k not in ("type", "timestamp", "storeId", "invoiceId", "metadata")
    }
    assert extra == fields


@pytest.mark.parametrize(
    ("type", "status"),
    [("InvoiceReceivedPayment", "Processing"), ("InvoicePaymentSettled", "Settled")],
)
def test_a_payment_event_carries_the_payment(type, status):  # noqa: A002
    body = payload(
        type,
        afterExpiration=True,
        paymentMethodId="BTC-CHAIN",
        paymentId="ab" * 32 + "-1",
        value=150_000,
    )
    assert body["afterExpiration"] is True
    assert body["paymentMethodId"] == "BTC-CHAIN"
    assert body["payment"] == {
        "id": "ab" * 32 + "-1",
        "receivedDate": 1_700_000_000,
        "value": "0.00150000",
        "fee": "0",
        "status": status,
        "destination": "bcrt1qdest",
    }


@pytest.mark.parametrize(
    ("state", "last_status", "status"),
    [
        ("delivered", 200, "HttpSuccess"),
        ("pending", 500, "HttpError"),
        ("failed", 404, "HttpError"),
        ("failed", None, "Failed"),
        ("pending", None, "Failed"),
    ],
)
def test_a_delivery_status_is_btcpays(state, last_status, status):
    assert delivery_status(WebhookDelivery(state=state, last_status=last_status)) == status


def test_a_webhook_request_takes_btcpays_defaults_and_ignores_unknown_fields():
    given = WebhookInput(
        data={"url": "https://shop.example/hook", "secret": None, "authorizedEvents": None, "x": 1}
    )
    assert given.is_valid(), given.errors
    assert given.service_arguments() == {
        "url": "https://shop.example/hook",
        "secret": "",
        "enabled": True,
        "automatic_redelivery": True,
        "everything": True,
        "specific_events": [],
    }
    partial = WebhookInput(
        data={"url": "https://shop.example/hook", "authorizedEvents": {"everything": False}}
    )
    assert partial.is_valid(), partial.errors
    assert partial.service_arguments()["everything"] is False
    assert partial.service_arguments()["specific_events"] == []
