"""Signed event notifications to integrators' endpoints, with every delivery logged.

Two kinds of endpoint share the one machinery (deliveries, retries, the attempt log, the
SSRF rules of ``webhooks/outbound.py``, the ``webhooks`` queue):

- ``engine``: the engine's own webhooks, one user's (``/api/webhooks``), signed with
  ``X-Exchange-Signature`` over a body built from the event at each attempt;
- ``greenfield``: a store's webhooks as BTCPay Server's Greenfield API has them
  (``/api/v1/stores/{storeId}/webhooks``), signed with ``BTCPay-Sig`` over the body kept on
  the delivery (``webhooks/btcpay.py``), serialised once when the delivery is made.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models

EVENT_TYPES = ("order.state_changed", "swap.state_changed", "deposit.changed")


def new_public_id() -> str:
    """A webhook or delivery id as Greenfield clients know them: 22 base58 characters."""
    from stores.models import BASE58

    return "".join(secrets.choice(BASE58) for _ in range(22))


class EndpointKind(models.TextChoices):
    ENGINE = "engine", "the engine's own webhook (a user's)"
    GREENFIELD = "greenfield", "a store's Greenfield webhook"


class WebhookEndpoint(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks"
    )
    kind = models.CharField(
        max_length=16, choices=EndpointKind.choices, default=EndpointKind.ENGINE
    )
    store = models.ForeignKey(
        "stores.Store",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhooks",
        help_text="greenfield: the store whose invoice events it gets",
    )
    public_id = models.CharField(
        max_length=22, unique=True, null=True, blank=True, help_text="greenfield: webhook id"
    )
    all_events = models.BooleanField(
        default=False, help_text="greenfield: authorizedEvents.everything"
    )
    automatic_redelivery = models.BooleanField(
        default=True, help_text="retry a failed delivery (WEBHOOK_RETRY_DELAYS); else one try"
    )
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=64, help_text="HMAC-SHA256 key; shown once, at creation")
    events = models.JSONField(default=list, blank=True, help_text="event types to send; empty: all")
    description = models.CharField(max_length=200, blank=True, default="")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.url} ({self.owner})"

    def wants(self, event_type: str) -> bool:
        if self.kind == EndpointKind.GREENFIELD:
            return self.all_events or event_type in self.events
        return not self.events or event_type in self.events


class WebhookEvent(models.Model):
    """One event, with a unique id receivers use to deduplicate."""

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=64)
    data = models.JSONField()
    parties = models.JSONField(default=list, help_text="ids of the users the event concerns")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    # Greenfield deliveries: their id, the exact body sent (signed as it is), and for a
    # redelivery the delivery it repeats; ``sequence`` counts the redeliveries of an event.
    public_id = models.CharField(
        max_length=22, unique=True, null=True, blank=True, help_text="greenfield: deliveryId"
    )
    body = models.TextField(null=True, blank=True, help_text="greenfield: the body sent")
    original = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="redeliveries"
    )
    sequence = models.PositiveIntegerField(default=0)
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event", "sequence"], name="delivery_once")
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint.url} ({self.state})"


class WebhookAttempt(models.Model):
    """One POST of a delivery: what the receiver answered, and how fast."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    response_excerpt = models.CharField(max_length=500, blank=True, default="")
    error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.status_code or self.error}"
