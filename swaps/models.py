"""Swaps and what prices and backs them: the swap orders (funded orders, funding.models),
quotes, the liquidity per currency and each swap's reservation of it.

Their tables keep the names they had in the apps they came from (``rates_*``,
``orders_swaporder``): the models moved, the rows did not.

Amounts are integers in base units (satoshi for BTC, piconero for XMR).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from funding.models import FundedOrder, FundingState, state_choices, transition_table
from orders.models import Currency
from rates.models import RateSnapshot
from wallets.models import OwnerKind, PayoutKind


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


class SwapState(models.TextChoices):
    """A swap's own states, beside the shared ones (funding.models.FundingState)."""

    EXCHANGING = "exchanging"
    SENDING = "sending"
    ACTION_REQUIRED = "action_required"


# Swaps' transitions (SwapOrder.TRANSITIONS): the shared lifecycle (LIFECYCLE), its own
# transitions, and the hold of the states where a vanished credited deposit stops a swap.
# A deposit after the expiry, or one the rate moved too far for, waits for the customer.
SWAP_TRANSITIONS = transition_table(
    own={
        FundingState.CONFIRMING: {SwapState.EXCHANGING, SwapState.ACTION_REQUIRED},
        SwapState.EXCHANGING: {SwapState.SENDING, SwapState.ACTION_REQUIRED},
        SwapState.SENDING: {FundingState.COMPLETED, FundingState.FAILED},
        SwapState.ACTION_REQUIRED: {SwapState.EXCHANGING, FundingState.REFUNDING},
        FundingState.EXPIRED: {SwapState.ACTION_REQUIRED},
        FundingState.FAILED: {SwapState.SENDING},
    },
    holdable={
        FundingState.CONFIRMING,
        SwapState.EXCHANGING,
        SwapState.SENDING,
        SwapState.ACTION_REQUIRED,
        FundingState.REFUNDING,
        FundingState.EXPIRED,
        FundingState.FAILED,
    },
)
# Every state a swap can be in.
SWAP_STATE_CHOICES = state_choices(SwapState)


class SwapKind(models.TextChoices):
    FIXED = "fixed", "Fixed rate (locked by the quote)"
    FLOATING = "floating", "Floating rate (the rate when the deposit confirms)"


class SwapOrder(FundedOrder):
    """A customer sends one currency and receives the other from the house's liquidity."""

    OWNER_KIND = OwnerKind.SWAP
    CURRENCY_FIELD = "from_currency"
    AMOUNT_DUE_FIELD = "amount_from"
    PARTY_FIELDS = ("user_id",)
    TRANSITIONS = SWAP_TRANSITIONS
    PAYING_STATE_OF_KIND = {PayoutKind.SWAP: SwapState.SENDING}
    CONFIRMED_TO = {SwapState.SENDING: FundingState.COMPLETED}

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, help_text="the capability to read it"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="swaps",
    )
    client = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_index=True,
        help_text="who asked for it: user:<id> or anon:<address> (the per-client limits)",
    )
    quote = models.OneToOneField("swaps.Quote", on_delete=models.PROTECT, related_name="swap")
    kind = models.CharField(max_length=16, choices=SwapKind.choices)
    from_currency = models.CharField(max_length=3, choices=Currency.choices)
    to_currency = models.CharField(max_length=3, choices=Currency.choices)
    amount_from = models.PositiveBigIntegerField(help_text="expected deposit, base units")
    amount_to_gross = models.PositiveBigIntegerField(
        help_text="payout before its network fee, base units (final once exchanged)"
    )
    rate = models.DecimalField(
        max_digits=40, decimal_places=18, help_text="to-currency per from-currency, whole units"
    )
    market_rate = models.DecimalField(
        max_digits=40, decimal_places=18, help_text="XMR price in BTC"
    )
    spread_bps = models.PositiveIntegerField()
    payout_address = models.CharField(max_length=128)
    refund_address = models.CharField(max_length=128)
    account = models.OneToOneField(
        "wallets.WalletAccount", on_delete=models.PROTECT, related_name="swap", null=True
    )
    state = models.CharField(
        max_length=24, choices=SWAP_STATE_CHOICES, default=FundingState.AWAITING_DEPOSIT
    )
    received_amount = models.PositiveBigIntegerField(default=0, help_text="credited, base units")
    reserved_amount = models.PositiveBigIntegerField(
        default=0, help_text="liquidity reserved for the payout, base units"
    )
    action_reason = models.CharField(max_length=200, blank=True, default="")
    exchanged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "orders_swaporder"
        indexes = [models.Index(fields=["state", "expires_at"], name="swap_state_expiry")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_currency=models.F("to_currency")), name="swap_two_currencies"
            ),
        ]

    def __str__(self) -> str:
        return f"swap {self.id} {self.from_currency}→{self.to_currency} ({self.state})"
