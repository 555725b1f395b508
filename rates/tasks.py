"""The refresh task: run by beat every RATES_REFRESH_SECONDS and on demand by ``rate_current``."""

from __future__ import annotations

from celery import shared_task

from exchange.celery import RATES
from rates.errors import RateRefreshFailed
from rates.pairs import PAIR_XMR_BTC


@shared_task(name="rates.refresh", autoretry_for=(RateRefreshFailed,), **RATES)
def rates_refresh_task() -> dict:
    """Refresh every pair; a pair without quorum raises ``RateRefreshFailed`` (once all
    pairs are stored) so Celery retries the refresh with backoff. Safe to run twice: each
    run stores its own snapshots. Returns the XMR/BTC snapshot and every pair's."""
    from rates.services import rates_refresh_pairs

    snapshots = rates_refresh_pairs()
    failed = [snapshot for snapshot in snapshots.values() if not snapshot.ok]
    if failed:
        first = next((s for s in failed if s.pair == PAIR_XMR_BTC), failed[0])
        raise RateRefreshFailed(
            "; ".join(f"{s.pair} rate snapshot {s.id}: {s.error}" for s in failed),
            snapshot_id=first.id,
        )
    market = snapshots[PAIR_XMR_BTC]
    return {
        "snapshot_id": market.id,
        "rate": str(market.rate),
        "pairs": {
            pair: {"snapshot_id": s.id, "rate": str(s.rate)} for pair, s in snapshots.items()
        },
    }
