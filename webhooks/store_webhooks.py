"""A store's Greenfield webhooks: registering them, and one delivery per invoice event for
each enabled webhook that wants its type, on the engine's webhook machinery
(``webhooks.services``: the outbox rows, the ``webhooks`` queue, retries, the attempt log
and the SSRF checks at registration and at every attempt).

Order: an invoice's events are recorded in order, in the transaction that changes the
invoice; each one's deliveries are written in that transaction and enqueued on commit.
A delivery to a webhook is not sent while an earlier delivery to the same webhook is
still before the end of its first attempt (``webhooks.services._first_attempt_waiting``),
so first attempts reach each webhook one after another in event order (across the
store's invoices too), as BTCPay sends them. A delivery that failed is retried on its
own schedule and holds nothing back, so a retry can arrive after later events; a lost
first attempt holds the next ones until the sweep sends it again (``deliveries_due``).
"""

from __future__ import annotations

import functools
import json
import secrets
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from exchange.errors import ApplicationError, ConflictError
from webhooks import btcpay
from webhooks.models import (
    EndpointKind,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    new_public_id,
)
from webhooks.outbound import destination_check
from webhooks.services import _enqueue


def new_secret() -> str:
    """A webhook secret when the request gives none: 32 random base58 characters."""
    from stores.models import BASE58

    return "".join(secrets.choice(BASE58) for _ in range(32))


def _events_check(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(btcpay.EVENT_TYPES))
    if unknown:
        raise ApplicationError(
            f"unknown event types {unknown}; known: {list(btcpay.EVENT_TYPES)}",
            field="authorized_events.specific_events",
        )
    return sorted(set(events))


def store_webhooks(store) -> Any:
    return WebhookEndpoint.objects.filter(kind=EndpointKind.GREENFIELD, store=store).order_by("id")


def store_webhook_create(
    *,
    store,
    url: str,
    secret: str = "",
    enabled: bool = True,
    automatic_redelivery: bool = True,
    everything: bool = True,
    specific_events: list[str] | None = None,
) -> WebhookEndpoint:
    """Register a webhook of ``store``; its URL must lead to public addresses only
    (``webhooks/outbound.py``). A secret is made when none is given."""
    destination_check(url)
    events = _events_check(specific_events or [])
    limit = settings.GREENFIELD_MAX_WEBHOOKS_PER_STORE
    with transaction.atomic():
        # The store row is the lock that makes the count and the insert one step.
        type(store).objects.select_for_update().filter(id=store.id).first()
        if store_webhooks(store).count() >= limit:
            raise ConflictError(
                f"at most {limit} webhooks per store: delete one first",
                code="too_many_webhooks",
            )
        return WebhookEndpoint.objects.create(
            kind=EndpointKind.GREENFIELD,
            owner_id=store.owner_id,
            store=store,
            public_id=new_public_id(),
            url=url,
            secret=secret or new_secret(),
            is_active=enabled,
            automatic_redelivery=automatic_redelivery,
            all_events=everything,
            events=events,
        )


def store_webhook_update(
    *,
    webhook: WebhookEndpoint,
    url: str,
    secret: str = "",
    enabled: bool = True,
    automatic_redelivery: bool = True,
    everything: bool = True,
    specific_events: list[str] | None = None,
) -> WebhookEndpoint:
    """Replace what a webhook is, as BTCPay's PUT does; the secret is kept unless a new
    one is given."""
    destination_check(url)
    webhook.url = url
    if secret:
        webhook.secret = secret
    webhook.is_active = enabled
    webhook.automatic_redelivery = automatic_redelivery
    webhook.all_events = everything
    webhook.events = _events_check(specific_events or [])
    webhook.save(
        update_fields=["url", "secret", "is_active", "automatic_redelivery", "all_events", "events"]
    )
    return webhook


def _destination(invoice, data: dict[str, Any]) -> str | None:
    """The deposit address a payment event's payment went to."""
    from invoices.models import PaymentPrompt

    currency = str(data.get("paymentMethodId", "")).split("-", 1)[0]
    prompt = (
        PaymentPrompt.objects.filter(invoice=invoice, currency=currency)
        .select_related("account")
        .first()
    )
    return prompt.account.address if prompt is not None and prompt.account else None


def invoice_event_publish(*, invoice, event) -> WebhookEvent | None:
    """In the transaction that recorded ``event`` (an ``InvoiceEvent``): one delivery per
    enabled webhook of the invoice's store that wants its type, each body serialised now;
    sent after commit."""
    webhooks = [
        w for w in store_webhooks(invoice.store_id).filter(is_active=True) if w.wants(event.type)
    ]
    if not webhooks:
        return None
    destination = _destination(invoice, event.data) if event.type in btcpay.PAYMENT_EVENTS else None
    payload = btcpay.event_payload(
        type=event.type,
        data=event.data,
        timestamp=int(event.created_at.timestamp()),
        store_id=invoice.store.public_id,
        invoice_id=invoice.public_id,
        metadata=invoice.metadata,
        destination=destination,
    )
    record = WebhookEvent.objects.create(
        type=event.type, data=payload, parties=[invoice.store.owner_id]
    )
    now = timezone.now()
    deliveries = []
    for webhook in webhooks:
        delivery_id = new_public_id()
        body = btcpay.delivery_body(
            payload,
            delivery_id=delivery_id,
            webhook_id=webhook.public_id or "",
            original_delivery_id=delivery_id,
            is_redelivery=False,
        )
        deliveries.append(
            WebhookDelivery(
                endpoint=webhook,
                event=record,
                public_id=delivery_id,
                body=body.decode("ascii"),
                next_attempt_at=now,
            )
        )
    WebhookDelivery.objects.bulk_create(deliveries)
    ids = list(
        WebhookDelivery.objects.filter(event=record).order_by("id").values_list("id", flat=True)
    )
    transaction.on_commit(functools.partial(_enqueue, ids))
    return record


def _root_id(delivery: WebhookDelivery) -> str:
    """The first delivery's id of the chain ``delivery`` is in (BTCPay's
    ``originalDeliveryId``: a redelivery of a redelivery names the first one)."""
    root = delivery
    while root.original_id is not None and root.original is not None:
        root = root.original
    return root.public_id or ""


def store_webhook_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """A new delivery of the same event to the same webhook: its own id, ``isRedelivery``
    true, ``originalDeliveryId`` the first delivery's; sent after commit."""
    payload = {
        k: v
        for k, v in json.loads(delivery.body or "{}").items()
        if k not in ("deliveryId", "webhookId", "originalDeliveryId", "isRedelivery")
    }
    for _ in range(3):
        delivery_id = new_public_id()
        body = btcpay.delivery_body(
            payload,
            delivery_id=delivery_id,
            webhook_id=delivery.endpoint.public_id or "",
            original_delivery_id=_root_id(delivery),
            is_redelivery=True,
        )
        try:
            with transaction.atomic():
                sequence = (
                    WebhookDelivery.objects.filter(
                        endpoint_id=delivery.endpoint_id, event_id=delivery.event_id
                    ).aggregate(m=Max("sequence"))["m"]
                    or 0
                ) + 1
                again = WebhookDelivery.objects.create(
                    endpoint_id=delivery.endpoint_id,
                    event_id=delivery.event_id,
                    public_id=delivery_id,
                    body=body.decode("ascii"),
                    original=delivery,
                    sequence=sequence,
                    next_attempt_at=timezone.now(),
                )
                transaction.on_commit(functools.partial(_enqueue, [again.id]))
                return again
        except IntegrityError:
            continue  # two redeliveries at once took the same sequence: take the next
    raise ConflictError("the delivery is being redelivered: try again", code="redelivery_busy")
