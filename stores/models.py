"""Shops that take payments through the engine: a store belongs to a merchant (a vendor,
paid at their payout addresses, ``orders.VendorPayoutAddress``), says how its invoices
behave, and is reached by Greenfield API keys with per-store permissions."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from wallets.chains.registry import COINS

# Greenfield names an on-chain payment method "<currency>-CHAIN".
PAYMENT_METHODS = tuple(f"{coin.code}-CHAIN" for coin in COINS)
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def new_store_id() -> str:
    """A store id as Greenfield clients know them: 44 base58 characters."""
    return "".join(secrets.choice(BASE58) for _ in range(44))


def all_payment_methods() -> list[str]:
    return list(PAYMENT_METHODS)


class SpeedPolicy(models.TextChoices):
    """How many confirmations a store waits for before an invoice is settled; never fewer
    than the engine's own rule for the amount (funding.services.confirmations_required)."""

    HIGH = "HighSpeed", "0 confirmations"
    MEDIUM = "MediumSpeed", "1 confirmation"
    LOW_MEDIUM = "LowMediumSpeed", "2 confirmations"
    LOW = "LowSpeed", "6 confirmations"


CONFIRMATIONS_OF_SPEED = {
    SpeedPolicy.HIGH: 0,
    SpeedPolicy.MEDIUM: 1,
    SpeedPolicy.LOW_MEDIUM: 2,
    SpeedPolicy.LOW: 6,
}


class Settlement(models.TextChoices):
    """What a settled invoice does with the money it received."""

    PAYOUT = "payout", "pay the merchant's payout address"
    BALANCE = "balance", "credit the merchant's balance, withdrawn on request"


class Store(models.Model):
    public_id = models.CharField(
        max_length=44, unique=True, default=new_store_id, editable=False, help_text="store id"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stores"
    )
    name = models.CharField(max_length=100)
    default_currency = models.CharField(
        max_length=8, default="USD", help_text="what an invoice is priced in unless it says"
    )
    speed_policy = models.CharField(
        max_length=16, choices=SpeedPolicy.choices, default=SpeedPolicy.MEDIUM
    )
    invoice_expiration_minutes = models.PositiveIntegerField(default=15)
    monitoring_minutes = models.PositiveIntegerField(
        default=1440, help_text="how long after expiry a payment is still followed"
    )
    payment_methods = models.JSONField(
        default=all_payment_methods, help_text="the payment methods its invoices offer"
    )
    lazy_payment_methods = models.BooleanField(
        default=False,
        help_text="a deposit address is given only when the customer picks a method",
    )
    settlement = models.CharField(
        max_length=8, choices=Settlement.choices, default=Settlement.PAYOUT
    )
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"


class ApiKey(models.Model):
    """A Greenfield API key (``Authorization: token <key>``) of a merchant.

    The key is 40 random hex characters, as BTCPay's are, shown once when it is made;
    only its SHA-256 digest is kept, and its first characters to find the row by.
    ``permissions`` are Greenfield permission strings (``stores.permissions``), each for
    one of the owner's stores or, unscoped, for all of them. Revoking sets ``revoked_at``;
    a revoked key never works again.
    """

    PREFIX_LENGTH = 8

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="greenfield_keys"
    )
    label = models.CharField(max_length=100)
    prefix = models.CharField(
        max_length=PREFIX_LENGTH, db_index=True, help_text="the key's first characters"
    )
    key_hash = models.CharField(
        max_length=64, unique=True, help_text="SHA-256 of the key, hex; the key is not kept"
    )
    permissions = models.JSONField(default=list, help_text="Greenfield permission strings")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Greenfield API key"

    def __str__(self) -> str:
        return f"{self.label} ({self.prefix}…) of {self.owner_id}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
