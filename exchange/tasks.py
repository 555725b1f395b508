from __future__ import annotations

from celery import shared_task


@shared_task(name="exchange.heartbeat", queue="scheduled", soft_time_limit=10, time_limit=20)
def heartbeat_task(queue: str = "scheduled") -> None:
    """Run on each queue by beat; proves a worker consumes that queue."""
    from exchange.services import heartbeat_record

    heartbeat_record(name=f"worker:{queue}")
