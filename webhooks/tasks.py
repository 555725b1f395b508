from __future__ import annotations

from celery import shared_task

from exchange.celery import SCHEDULED, WEBHOOKS
from exchange.single_flight import single_flight


@shared_task(name="webhooks.deliver", soft_time_limit=30, time_limit=45, **WEBHOOKS)
def webhook_deliver_task(delivery_id: int) -> str | None:
    """One attempt; the service schedules the next on failure. Safe to run twice: a
    delivery is claimed before it is sent, and receivers deduplicate on the event id."""
    from webhooks.services import delivery_attempt

    delivery = delivery_attempt(delivery_id=delivery_id)
    return delivery.state if delivery else None


@shared_task(name="webhooks.retry_due", **SCHEDULED)
@single_flight("webhooks-retry-due", ttl=120)
def webhooks_retry_due_task() -> int:
    from webhooks.services import deliveries_due

    return deliveries_due()
