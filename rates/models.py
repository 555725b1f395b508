from django.db import models
from django.db.models import Q
from django.utils import timezone

from rates.pairs import PAIR_XMR_BTC

__all__ = ["PAIR_XMR_BTC", "RateSnapshot"]


class RateSnapshot(models.Model):
    """One refresh of one pair's rate: what every provider quoting it answered and what we
    made of it.

    A row is written per pair on every refresh, agreed or not, so staff can see provider
    health. ``sources`` maps each provider asked to ``{"value": "0.0028" | None, "error":
    str | None, "latency_ms": int, "used": bool, "dropped_reason": str | None}``.
    """

    created_at = models.DateTimeField(
        default=timezone.now,
        db_index=True,
        help_text="When the providers were asked: the age of the rate counts from here.",
    )
    pair = models.CharField(
        max_length=16,
        default=PAIR_XMR_BTC,
        db_comment="BASE/QUOTE (rates.pairs); rows written before pairs existed are XMR/BTC",
        help_text="BASE/QUOTE: the rate is the price of 1 BASE in QUOTE.",
    )
    rate = models.DecimalField(
        max_digits=30,
        decimal_places=18,
        null=True,
        blank=True,
        db_comment="price of 1 BASE in QUOTE of the pair; NULL when the providers did not"
        " reach quorum",
        help_text="Price of 1 BASE in QUOTE; empty when the providers did not reach quorum.",
    )
    sources = models.JSONField(default=dict, blank=True)
    ok = models.BooleanField(default=False, help_text="The providers reached quorum.")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        # The newest agreed snapshot of a pair: rates.selectors.
        indexes = [
            models.Index(fields=["pair", "ok", "created_at"], name="rates_snapshot_pair_ok_created")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ok=False) | Q(rate__isnull=False, rate__gt=0),
                name="rates_snapshot_ok_has_rate",
            ),
        ]

    def __str__(self) -> str:
        value = self.rate if self.ok else "no quorum"
        return f"{self.pair} {value} at {self.created_at:%Y-%m-%d %H:%M:%S}"

    @property
    def sources_used(self) -> int:
        """How many providers' values formed the rate."""
        return sum(1 for entry in (self.sources or {}).values() if entry.get("used"))
