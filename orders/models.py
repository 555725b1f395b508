"""Escrow orders (funded orders, funding.models) and vendors' payout addresses: their rows
and states.

Amounts are integers in base units (satoshi for BTC, piconero for XMR).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from funding.models import FundedOrder, FundingState, state_choices, transition_table
from wallets.chains.registry import COINS, chain_of_currency
from wallets.models import OwnerKind, PayoutKind

# The currencies of the registry's coins (wallets.chains.registry), e.g. Currency("BTC").
# Django's functional Choices API, which the stubs do not describe (they know the class form).
Currency = models.TextChoices(  # type: ignore[call-overload]
    "Currency", [(c.code, (c.code, c.name)) for c in COINS]
)


class OrderState(models.TextChoices):
    """Escrow's own states, beside the shared ones (funding.models.FundingState)."""

    ESCROWED = "escrowed"
    RELEASING = "releasing"
    RELEASED = "released"
    DISPUTED = "disputed"
    SPLITTING = "splitting"
    CANCELLED = "cancelled"


# Funds sit in the order's account and belong to the escrow.
HELD_STATES = frozenset({OrderState.ESCROWED, OrderState.DISPUTED})
# A payout of the order is under way.
PAYING_STATES = frozenset({OrderState.RELEASING, FundingState.REFUNDING, OrderState.SPLITTING})
# Escrow's transitions (EscrowOrder.TRANSITIONS): the shared lifecycle (LIFECYCLE), its own
# transitions, and the hold. A vanished credited deposit stops an order wherever the
# money is the escrow's: held, being paid, released but not yet confirmed, or failed.
ORDER_TRANSITIONS = transition_table(
    own={
        FundingState.AWAITING_DEPOSIT: {OrderState.CANCELLED},
        FundingState.CONFIRMING: {OrderState.ESCROWED},
        OrderState.ESCROWED: {OrderState.RELEASING, FundingState.REFUNDING, OrderState.DISPUTED},
        OrderState.DISPUTED: {OrderState.RELEASING, FundingState.REFUNDING, OrderState.SPLITTING},
        OrderState.RELEASING: {OrderState.RELEASED, FundingState.COMPLETED, FundingState.FAILED},
        # A release whose transaction another one conflicted goes to staff.
        OrderState.RELEASED: {FundingState.COMPLETED, FundingState.FAILED},
        OrderState.SPLITTING: {FundingState.COMPLETED, FundingState.FAILED},
        FundingState.FAILED: {OrderState.RELEASING, OrderState.SPLITTING},
        OrderState.CANCELLED: set(),
    },
    holdable={*HELD_STATES, *PAYING_STATES, OrderState.RELEASED, FundingState.FAILED},
)
# Every state an order can be in.
ORDER_STATE_CHOICES = state_choices(OrderState)
TERMINAL_ORDER_STATES = frozenset(s for s, nxt in ORDER_TRANSITIONS.items() if not nxt)


class VendorPayoutAddress(models.Model):
    """Where a vendor is paid in one currency: one row per vendor and currency, so a coin
    added to the registry needs no column here."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payout_addresses"
    )
    currency = models.CharField(max_length=3, choices=Currency.choices)
    address = models.CharField(max_length=128)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "currency"], name="vendor_payout_address_per_currency"
            )
        ]

    def __str__(self) -> str:
        return f"{self.currency} payout address of {self.user}"


class EscrowOrder(FundedOrder):
    OWNER_KIND = OwnerKind.ORDER
    CURRENCY_FIELD = "currency"
    AMOUNT_DUE_FIELD = "amount"
    PARTY_FIELDS = ("buyer_id", "vendor_id")
    TRANSITIONS = ORDER_TRANSITIONS
    PAYING_STATE_OF_KIND = {
        PayoutKind.RELEASE: OrderState.RELEASING,
        PayoutKind.SPLIT_VENDOR: OrderState.SPLITTING,
        PayoutKind.SPLIT_BUYER: OrderState.SPLITTING,
    }
    RELAYED_TO = {OrderState.RELEASING: OrderState.RELEASED}
    CONFIRMED_TO = {
        OrderState.RELEASING: FundingState.COMPLETED,
        OrderState.RELEASED: FundingState.COMPLETED,
        OrderState.SPLITTING: FundingState.COMPLETED,
    }

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="purchases"
    )
    vendor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales"
    )
    currency = models.CharField(max_length=3, choices=Currency.choices)
    amount = models.PositiveBigIntegerField(help_text="price in base units")
    fee_bps = models.PositiveIntegerField(help_text="platform fee, basis points of the amount")
    fee_amount = models.PositiveBigIntegerField(help_text="platform fee, base units")
    description = models.CharField(max_length=500, blank=True, default="")
    refund_address = models.CharField(max_length=128, blank=True, default="")
    account = models.OneToOneField(
        "wallets.WalletAccount", on_delete=models.PROTECT, related_name="escrow_order", null=True
    )
    state = models.CharField(
        max_length=24, choices=ORDER_STATE_CHOICES, default=FundingState.AWAITING_DEPOSIT
    )
    escrowed_amount = models.PositiveBigIntegerField(
        default=0, help_text="base units held in escrow once credited"
    )
    dispute_reason = models.CharField(max_length=500, blank=True, default="")
    escrowed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "expires_at"], name="order_state_expiry"),
            models.Index(fields=["buyer", "-created_at"], name="order_buyer"),
            models.Index(fields=["vendor", "-created_at"], name="order_vendor"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_amount_positive"),
            models.CheckConstraint(
                condition=Q(fee_amount__lte=models.F("amount")), name="order_fee_within_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.id} ({self.state})"

    @property
    def chain(self) -> str:
        return chain_of_currency(self.currency)
