"""Who owns the funds: the append-only ownership trail and the double-entry ledger.

Amounts are integers in base units (satoshi, piconero). Neither table is ever updated or
deleted from: the migration installs triggers that refuse it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class OwnershipTransfer(models.Model):
    """Funds of one wallet account changing hands, e.g. buyer → escrow → vendor."""

    account = models.ForeignKey(
        "wallets.WalletAccount", on_delete=models.PROTECT, related_name="ownership_transfers"
    )
    currency = models.CharField(max_length=3)
    from_party = models.CharField(max_length=64, help_text="e.g. buyer:7, escrow:order:12")
    to_party = models.CharField(max_length=64)
    amount = models.PositiveBigIntegerField(help_text="base units")
    reason = models.CharField(max_length=32)
    owner_kind = models.CharField(max_length=16)
    owner_id = models.BigIntegerField()
    event_id = models.BigIntegerField(null=True, blank=True, help_text="the order/swap event")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["owner_kind", "owner_id"], name="transfer_owner"),
            models.Index(fields=["account", "id"], name="transfer_account"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.from_party} → {self.to_party}: {self.amount} {self.currency}"


class LedgerTransaction(models.Model):
    """A balanced set of ledger entries: per currency, debits equal credits."""

    memo = models.CharField(max_length=200)
    owner_kind = models.CharField(max_length=16, blank=True, default="")
    owner_id = models.BigIntegerField(null=True, blank=True)
    wallet_account = models.ForeignKey(
        "wallets.WalletAccount",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the node account whose coins moved (deposits credited, payouts relayed)",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["owner_kind", "owner_id"], name="ledger_tx_owner")]

    def __str__(self) -> str:
        return f"#{self.id} {self.memo}"


class LedgerEntry(models.Model):
    """One leg: exactly one of debit or credit, positive, in one currency.

    A party's balance is sum(debit) − sum(credit) over its account code. The codes:
    ``deposits`` (what came in, the house's funding included), ``escrow:order:{id}``,
    ``buyer:{user}``, ``vendor:{user}``, ``customer:swap:{id}``, ``house`` (the house's
    coins), ``platform:fees``, ``platform:spread``, ``payout:{id}`` (in flight),
    ``sent`` (paid out), ``network:fees``, ``platform:losses`` (paid twice, for staff).
    """

    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    currency = models.CharField(max_length=3)
    account = models.CharField(max_length=64)
    debit = models.PositiveBigIntegerField(default=0)
    credit = models.PositiveBigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["currency", "account"], name="ledger_account")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit__gt=0, credit=0) | Q(debit=0, credit__gt=0)),
                name="ledger_one_side_positive",
            )
        ]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        side = f"Dr {self.debit}" if self.debit else f"Cr {self.credit}"
        return f"{self.account} {side} {self.currency}"


class LedgerBalance(models.Model):
    """The running balance (debits − credits) of each ledger account that stands for money
    held: escrow, buyer, vendor, customer, house, platform and payouts in flight.

    ``ledger_post`` changes it in the posting's transaction with a conditional update
    (``… WHERE balance + amount >= 0``), so a posting that would make money held negative
    is refused, concurrent postings included.
    """

    currency = models.CharField(max_length=3)
    account = models.CharField(max_length=64)
    balance = models.BigIntegerField(default=0, help_text="base units")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["currency", "account"], name="ledger_balance_account"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="ledger_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.balance} {self.currency}"
