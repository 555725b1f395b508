"""Swap pricing and the house's liquidity: quotes, the liquidity per currency and each
swap's reservation of it.

Their tables keep the names they had in the market-data app (``rates_*``): the models
moved, the rows did not.
"""

import uuid

from django.conf import settings
from django.db import models

from rates.models import RateSnapshot


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

    class Meta:
        db_table = "rates_quote"

    def __str__(self) -> str:
        return (
            f"quote {self.public_id} {self.amount_from} {self.from_currency} → {self.to_currency}"
        )


class Liquidity(models.Model):
    """The house's spendable balance of one currency, as its node last reported it.

    What is available to swaps is derived from it (swaps.liquidity): the reading, less the
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
        db_table = "rates_liquidity"
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

    class Meta:
        db_table = "rates_liquidityreservation"

    def __str__(self) -> str:
        return f"swap {self.swap_id}: {self.amount} {self.currency} ({self.state})"
