"""Reconciliation: the books against the nodes, per account and per chain, with the one
checker the test suite and ``make proof`` use (``operations.books``).

Node calls do not grow with the account count. A run is stored for the admin and
``/metrics`` when asked.
"""

from __future__ import annotations

from dataclasses import asdict

from django.utils import timezone

from operations.books import ChainBooks, books_check
from operations.models import ReconcileRun


def reconcile_chain(*, chain: str, progress=None) -> ChainBooks:
    return books_check(chains=[chain])[0]


def reconcile(*, chains: list[str], store: bool = False, progress=None) -> list[ChainBooks]:
    reports = []
    for chain in chains:
        started = timezone.now()
        report = reconcile_chain(chain=chain, progress=progress)
        reports.append(report)
        if store:
            ReconcileRun.objects.create(
                chain=chain,
                started_at=started,
                finished_at=timezone.now(),
                accounts=report.accounts,
                node_calls=report.node_calls,
                drift_accounts=len(report.differences),
                drift_total=report.drift_total,
                differences=[asdict(line) for line in report.differences]
                + [asdict(f) for f in report.findings if f.kind != "account"],
            )
    return reports
