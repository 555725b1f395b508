"""The refresh task: run by beat every RATES_REFRESH_SECONDS and on demand by ``rate_current``."""

from __future__ import annotations

from celery import shared_task

from exchange.celery import RATES
from rates.errors import RateRefreshFailed


@shared_task(name="rates.refresh", autoretry_for=(RateRefreshFailed,), **RATES)
def rates_refresh_task() -> dict:
    """Refresh the rate; a refresh without quorum raises ``RateRefreshFailed`` so Celery
    retries with backoff. Safe to run twice: each run stores its own snapshot."""
    from rates.services import rates_refresh

    snapshot = rates_refresh()
    if not snapshot.ok:
        raise RateRefreshFailed(
            f"rate snapshot {snapshot.id}: {snapshot.error}", snapshot_id=snapshot.id
        )
    return {"snapshot_id": snapshot.id, "rate": str(snapshot.rate)}
