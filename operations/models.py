from __future__ import annotations

from django.db import models


class ReconcileRun(models.Model):
    """One reconciliation of the books against the nodes, per chain."""

    chain = models.CharField(max_length=16)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    accounts = models.PositiveIntegerField(help_text="accounts compared")
    node_calls = models.PositiveIntegerField()
    drift_accounts = models.PositiveIntegerField()
    drift_total = models.BigIntegerField(help_text="sum of |difference|, base units")
    differences = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["chain", "-finished_at"], name="reconcile_latest")]

    def __str__(self) -> str:
        return f"{self.chain} reconcile {self.finished_at:%Y-%m-%d %H:%M}: {self.drift_accounts} drifting"

    @property
    def clean(self) -> bool:
        return self.drift_accounts == 0
