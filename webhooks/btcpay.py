"""Greenfield webhooks as BTCPay Server sends them: the body of each event type and its
signature. Nothing here reads the database.

The body is BTCPay's ``WebhookInvoiceEvent`` (``BTCPayServer.Client/Models``) in camelCase:
``deliveryId, webhookId, originalDeliveryId, isRedelivery, type, timestamp`` (unix
seconds), ``storeId, invoiceId, metadata`` (the invoice's, as the shop gave it) and the
fields of its type. It is serialised once, when the delivery is made; those bytes are
kept, signed and sent on every attempt, and answered by ``…/deliveries/{id}/request``.

``BTCPay-Sig: sha256=<hex HMAC-SHA256(secret, body)>``: what a receiver checks, as the
PHP client does, ``hash_equals('sha256=' . hash_hmac('sha256', $body, $secret), $header)``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from exchange.money import to_display

HEADER = "BTCPay-Sig"

# The per-type fields BTCPay's event models carry, and their defaults.
_STATUS_FIELDS: dict[str, tuple[str, ...]] = {
    "InvoiceCreated": (),
    "InvoiceProcessing": ("overPaid",),
    "InvoiceExpired": ("partiallyPaid",),
    "InvoiceSettled": ("manuallyMarked", "overPaid"),
    "InvoiceInvalid": ("manuallyMarked",),
}
PAYMENT_EVENTS = ("InvoiceReceivedPayment", "InvoicePaymentSettled")
EVENT_TYPES: tuple[str, ...] = (
    "InvoiceCreated",
    "InvoiceReceivedPayment",
    "InvoicePaymentSettled",
    "InvoiceProcessing",
    "InvoiceExpired",
    "InvoiceSettled",
    "InvoiceInvalid",
)


def signature(*, secret: str, body: bytes) -> str:
    """The ``BTCPay-Sig`` value of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(*, secret: str, body: bytes, header: str) -> bool:
    """What a receiver does (the PHP client's check, in Python): recompute over the raw
    bytes, compare in constant time."""
    return hmac.compare_digest(signature(secret=secret, body=body).encode(), header.encode())


def _payment(
    type: str,  # noqa: A002 - BTCPay's name
    data: dict[str, Any],
    timestamp: int,
    destination: str | None,
) -> dict[str, Any]:
    """BTCPay's ``InvoicePaymentMethodDataModel.Payment``: a received payment is
    ``Processing`` until it is credited, then ``Settled``. The engine charges the payer no
    fee on a deposit: ``fee`` is 0."""
    currency = str(data.get("paymentMethodId", "")).split("-", 1)[0]
    value = data.get("value")
    return {
        "id": data.get("paymentId"),
        "receivedDate": timestamp,
        "value": to_display(int(value), currency) if value is not None else None,
        "fee": "0",
        "status": "Settled" if type == "InvoicePaymentSettled" else "Processing",
        "destination": destination,
    }


def event_payload(
    *,
    type: str,  # noqa: A002 - BTCPay's name
    data: dict[str, Any],
    timestamp: int,
    store_id: str,
    invoice_id: str,
    metadata: dict[str, Any],
    destination: str | None = None,
) -> dict[str, Any]:
    """What every delivery of one invoice event says, in BTCPay's field order, without
    the delivery's own fields (``delivery_body`` adds them)."""
    payload: dict[str, Any] = {
        "type": type,
        "timestamp": timestamp,
        "storeId": store_id,
        "invoiceId": invoice_id,
        "metadata": metadata,
    }
    if type in PAYMENT_EVENTS:
        payload["afterExpiration"] = bool(data.get("afterExpiration", False))
        payload["paymentMethodId"] = data.get("paymentMethodId")
        payload["payment"] = _payment(type, data, timestamp, destination)
    else:
        for name in _STATUS_FIELDS.get(type, ()):
            payload[name] = bool(data.get(name, False))
    return payload


def delivery_body(
    payload: dict[str, Any],
    *,
    delivery_id: str,
    webhook_id: str,
    original_delivery_id: str | None,
    is_redelivery: bool,
) -> bytes:
    """The exact bytes of one delivery: compact JSON, ASCII only (so the text kept is the
    bytes sent)."""
    body = {
        "deliveryId": delivery_id,
        "webhookId": webhook_id,
        "originalDeliveryId": original_delivery_id,
        "isRedelivery": is_redelivery,
        **payload,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode("ascii")
