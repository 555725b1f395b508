from __future__ import annotations

from celery import shared_task


@shared_task(name="exchange.heartbeat", queue="scheduled", soft_time_limit=10, time_limit=20)
def heartbeat_task(queue: str = "scheduled") -> None:
    """Run on each queue by beat; proves a worker consumes that queue."""
    from exchange.services import heartbeat_record

    heartbeat_record(name=f"worker:{queue}")


@shared_task(name="exchange.idempotency_keys_purge", queue="scheduled")
def idempotency_keys_purge_task() -> int:
    """Delete idempotency keys past their retention. Safe to run twice."""
    from exchange.idempotency import idempotency_keys_purge

    return idempotency_keys_purge()
