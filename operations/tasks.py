from __future__ import annotations

from celery import shared_task

from exchange.celery import SCHEDULED
from exchange.single_flight import single_flight


@shared_task(name="operations.recovery_sweep", **SCHEDULED)
def recovery_sweep_task() -> dict | None:
    from operations.recovery import recovery_sweep

    return recovery_sweep()


@shared_task(name="operations.reconcile", soft_time_limit=240, time_limit=300, **SCHEDULED)
@single_flight("reconcile", ttl=600)
def reconcile_task() -> list[dict]:
    from operations.reconcile import reconcile
    from wallets.models import Chain

    reports = reconcile(chains=list(Chain.values), store=True)
    return [{"chain": r.chain, "drift_accounts": len(r.differences)} for r in reports]
