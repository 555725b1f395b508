"""Publishing events and delivering them, signed, with retries and a log of every attempt."""

from __future__ import annotations

import functools
import json
import logging
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from exchange.dispatch import enqueue
from exchange.errors import ApplicationError, ConflictError
from webhooks import btcpay
from webhooks.models import (
    EVENT_TYPES,
    DeliveryState,
    EndpointKind,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from webhooks.outbound import DestinationRefused, destination_check, outbound_post
from webhooks.signing import HEADER, sign

logger = logging.getLogger(__name__)


def endpoint_create(
    *, owner, url: str, events: list[str], description: str = ""
) -> WebhookEndpoint:
    """Register an endpoint; its secret is returned on this object only (show it once).
    The URL must lead to public addresses only (webhooks/outbound.py)."""
    destination_check(url)
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise ApplicationError(
            f"unknown event types {unknown}; known: {list(EVENT_TYPES)}", field="events"
        )
    limit = settings.WEBHOOK_MAX_ENDPOINTS_PER_USER
    if WebhookEndpoint.objects.filter(owner=owner, kind=EndpointKind.ENGINE).count() >= limit:
        raise ConflictError(
            f"at most {limit} webhook endpoints per user: delete one first",
            code="too_many_endpoints",
        )
    return WebhookEndpoint.objects.create(
        owner=owner,
        url=url,
        events=sorted(set(events)),
        description=description,
        secret=secrets.token_hex(32),
    )


def event_publish(*, type: str, data: dict, parties: list[int]) -> WebhookEvent | None:  # noqa: A002
    """Record an event and a delivery for every endpoint that wants it: endpoints of the
    users it concerns, and staff endpoints (they see everything). Deliveries start after
    commit."""
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(is_active=True, kind=EndpointKind.ENGINE)
        .filter(Q(owner_id__in=parties) | Q(owner__is_staff=True))
        .select_related("owner")
        if e.wants(type)
    ]
    if not endpoints:
        return None
    event = WebhookEvent.objects.create(type=type, data=data, parties=sorted(set(parties)))
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(endpoint=e, event=event, next_attempt_at=now) for e in endpoints]
    )
    ids = list(WebhookDelivery.objects.filter(event=event).values_list("id", flat=True))
    transaction.on_commit(functools.partial(_enqueue, ids))
    return event


def _enqueue(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        try:
            enqueue("webhooks.deliver", delivery_id)
        except Exception:  # noqa: BLE001 - the retry schedule picks it up
            logger.exception("webhook delivery %s: cannot enqueue", delivery_id)


def _body(event: WebhookEvent) -> bytes:
    return json.dumps(
        {
            "id": str(event.event_id),
            "type": event.type,
            "created_at": event.created_at,
            "data": event.data,
        },
        cls=DjangoJSONEncoder,
        sort_keys=True,
    ).encode()


# How long a Greenfield delivery waits for an earlier one's first attempt to end.
ORDER_WAIT_SECONDS = 1


def _first_attempt_waiting(delivery: WebhookDelivery) -> bool:
    """Is an earlier delivery to the same Greenfield webhook still before the end of its
    first attempt? Then this one waits, so first attempts reach a webhook in the order the
    events happened, as BTCPay sends them. Only first attempts are waited for: a delivery
    that failed is retried on its own schedule and holds nothing back."""
    return WebhookDelivery.objects.filter(
        endpoint_id=delivery.endpoint_id,
        state=DeliveryState.PENDING,
        attempts=0,
        id__lt=delivery.id,
    ).exists()


def _request(delivery: WebhookDelivery) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a delivery, by its endpoint's kind: the engine's own body
    and ``X-Exchange-Signature``, or the Greenfield body kept on the delivery (the bytes
    signed are the bytes sent) and ``BTCPay-Sig``."""
    if delivery.endpoint.kind == EndpointKind.GREENFIELD:
        body = (delivery.body or "").encode("ascii")
        return body, {
            "Content-Type": "application/json",
            "User-Agent": "exchange-engine-webhooks/1",
            btcpay.HEADER: btcpay.signature(secret=delivery.endpoint.secret, body=body),
        }
    body = _body(delivery.event)
    return body, {
        "Content-Type": "application/json",
        "User-Agent": "exchange-engine-webhooks/1",
        "X-Exchange-Event-Id": str(delivery.event.event_id),
        "X-Exchange-Event-Type": delivery.event.type,
        HEADER: sign(secret=delivery.endpoint.secret, body=body),
    }


def delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """POST one delivery if it is due and nobody else is sending it; log the attempt and
    schedule the next one on failure. Returns None when there was nothing to do."""
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(id=delivery_id, state=DeliveryState.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=60))
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(id=delivery_id)
    if delivery.endpoint.kind == EndpointKind.GREENFIELD and _first_attempt_waiting(delivery):
        WebhookDelivery.objects.filter(id=delivery.id).update(claimed_until=None)
        enqueue("webhooks.deliver", delivery.id, countdown=ORDER_WAIT_SECONDS)
        return None
    body, headers = _request(delivery)
    started = time.monotonic()
    status, excerpt, error = None, "", ""
    try:
        answer = outbound_post(url=delivery.endpoint.url, body=body, headers=headers)
        status, excerpt = answer.status, answer.excerpt
    except DestinationRefused as exc:
        error = f"refused: {exc.message}"[:300]
    except Exception as exc:  # noqa: BLE001 - any transport failure is a failed attempt
        error = f"{exc.__class__.__name__}: {exc}"[:300]
    latency = int((time.monotonic() - started) * 1000)
    number = delivery.attempts + 1
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            status_code=status,
            latency_ms=latency,
            response_excerpt=excerpt,
            error=error,
        )
        fields = {"attempts": number, "last_status": status, "claimed_until": None}
        delays = settings.WEBHOOK_RETRY_DELAYS if delivery.endpoint.automatic_redelivery else []
        if status is not None and 200 <= status < 300:
            fields.update(state=DeliveryState.DELIVERED, delivered_at=timezone.now())
        elif number > len(delays):
            fields["state"] = DeliveryState.FAILED
        else:
            fields["next_attempt_at"] = timezone.now() + timedelta(seconds=delays[number - 1])
        WebhookDelivery.objects.filter(id=delivery.id).update(**fields)
    delivery.refresh_from_db()
    if delivery.state == DeliveryState.PENDING:
        enqueue("webhooks.deliver", delivery.id, countdown=delays[number - 1])
    return delivery


def deliveries_due() -> int:
    """Enqueue pending deliveries whose time has come (a lost retry message, Redis wiped)."""
    due = list(
        WebhookDelivery.objects.filter(
            state=DeliveryState.PENDING, next_attempt_at__lt=timezone.now() - timedelta(seconds=5)
        ).values_list("id", flat=True)[:1000]
    )
    _enqueue(due)
    return len(due)


def delivery_redeliver(*, delivery_id: int, actor) -> WebhookDelivery:
    """Staff: send a delivery again (whatever its state), audited."""
    from exchange.services import audit_record

    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(id=delivery_id)
        WebhookDelivery.objects.filter(id=delivery.id).update(
            state=DeliveryState.PENDING, next_attempt_at=timezone.now(), claimed_until=None
        )
        audit_record(actor=actor, action="webhook.redeliver", target=delivery, reason="redeliver")
        transaction.on_commit(functools.partial(_enqueue, [delivery.id]))
    delivery.refresh_from_db()
    return delivery
