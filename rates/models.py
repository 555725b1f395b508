import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

PAIR_XMR_BTC = "XMR/BTC"


class RateSnapshot(models.Model):
    """One refresh of the XMR/BTC rate: what every provider answered and what we made of it.

    A row is written on every refresh, agreed or not, so staff can see provider health.
    ``sources`` maps each provider name to ``{"value": "0.0028" | None, "error": str | None,
    "latency_ms": int, "used": bool, "dropped_reason": str | None}``.
    """

    created_at = models.DateTimeField(
        default=timezone.now,
        db_index=True,
        help_text="When the providers were asked: the age of the rate counts from here.",
    )
    pair = models.CharField(max_length=16, default=PAIR_XMR_BTC, editable=False)
    rate = models.DecimalField(
        max_digits=30,
        decimal_places=18,
        null=True,
        blank=True,
        db_comment="price of 1 XMR in BTC; NULL when the providers did not reach quorum",
        help_text="Price of 1 XMR in BTC; empty when the providers did not reach quorum.",
    )
    sources = models.JSONField(default=dict, blank=True)
    ok = models.BooleanField(default=False, help_text="The providers reached quorum.")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["ok", "created_at"], name="rates_snapshot_ok_created")]
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


class QuoteKind(models.TextChoices):
    FIXED = "fixed", "Fixed"
    FLOATING = "floating", "Floating"


class Quote(models.Model):
    """A price offered for a swap. Fixed quotes lock the rate until ``expires_at``."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=QuoteKind.choices)
    from_currency = models.CharField(max_length=3)
    to_currency = models.CharField(max_length=3)
    amount_from = models.PositiveBigIntegerField(help_text="base units the customer sends")
    amount_to = models.PositiveBigIntegerField(help_text="base units the customer gets (estimate)")
    amount_to_gross = models.PositiveBigIntegerField(help_text="payout before its network fee")
    network_fee = models.PositiveBigIntegerField(
        help_text="estimated payout fee, to-currency base units"
    )
    rate = models.DecimalField(
        max_digits=40, decimal_places=18, help_text="to per from, whole units"
    )
    market_rate = models.DecimalField(
        max_digits=40, decimal_places=18, help_text="XMR price in BTC"
    )
    spread_bps = models.PositiveIntegerField()
    min_from = models.PositiveBigIntegerField()
    max_from = models.PositiveBigIntegerField()
    snapshot = models.ForeignKey(RateSnapshot, on_delete=models.PROTECT, related_name="quotes")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return (
            f"quote {self.public_id} {self.amount_from} {self.from_currency} → {self.to_currency}"
        )


class Liquidity(models.Model):
    """The house's spendable balance of one currency, as its node last reported it.

    What is available to swaps is derived from it (rates.liquidity): the reading, less the
    house's payouts it does not show yet and the active reservations. Only a newer node
    reading replaces ``spendable``; nothing else writes it.
    """

    currency = models.CharField(max_length=3, unique=True)
    spendable = models.BigIntegerField(
        default=0, help_text="the liquidity account's spendable node balance, base units"
    )
    spendable_at = models.DateTimeField(
        null=True, blank=True, help_text="when the node was read for ``spendable``"
    )
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "liquidity"

    def __str__(self) -> str:
        return f"{self.currency}: {self.spendable} spendable at {self.spendable_at}"


class LiquidityReservation(models.Model):
    """One swap's hold on the house's liquidity: active → consumed (paid) or released."""

    class State(models.TextChoices):
        ACTIVE = "active"
        CONSUMED = "consumed"
        RELEASED = "released"

    swap_id = models.BigIntegerField(unique=True)
    currency = models.CharField(max_length=3)
    amount = models.PositiveBigIntegerField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"swap {self.swap_id}: {self.amount} {self.currency} ({self.state})"
