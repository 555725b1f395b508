"""Shops' invoices: an invoice prices what a customer owes a store (in fiat or a coin)
and asks for it in each coin the store takes, one payment prompt per coin. A prompt is a
funded order (funding.models): its own deposit account, the rate it was priced at, the
amount due in base units, its deposits credited once each and its payouts (the store's
settlement, a refund) made once each.

Amounts held are integers in base units; an invoice's own price is a Decimal in its
pricing currency, which may be a fiat one the engine never holds.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from funding.models import FundedOrder, FundingState, state_choices, transition_table
from orders.models import Currency
from stores.models import BASE58, SpeedPolicy
from wallets.models import OwnerKind, PayoutKind


def new_invoice_id() -> str:
    """An invoice id as Greenfield clients know them: 22 base58 characters."""
    return "".join(secrets.choice(BASE58) for _ in range(22))


class InvoiceStatus(models.TextChoices):
    """Greenfield's invoice statuses."""

    NEW = "New"
    PROCESSING = "Processing"
    SETTLED = "Settled"
    EXPIRED = "Expired"
    INVALID = "Invalid"


class AdditionalStatus(models.TextChoices):
    """Greenfield's ``additionalStatus``: what else is true of the payments."""

    NONE = "None"
    PAID_PARTIAL = "PaidPartial"
    PAID_OVER = "PaidOver"
    PAID_LATE = "PaidLate"
    MARKED = "Marked"
    INVALID = "Invalid"


class Invoice(models.Model):
    public_id = models.CharField(
        max_length=22, unique=True, default=new_invoice_id, editable=False, help_text="invoice id"
    )
    store = models.ForeignKey("stores.Store", on_delete=models.PROTECT, related_name="invoices")
    amount = models.DecimalField(
        max_digits=30, decimal_places=12, help_text="the price, in the pricing currency"
    )
    currency = models.CharField(max_length=8, help_text="the pricing currency (fiat or a coin)")
    status = models.CharField(
        max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.NEW
    )
    additional_status = models.CharField(
        max_length=12, choices=AdditionalStatus.choices, default=AdditionalStatus.NONE
    )
    metadata = models.JSONField(default=dict, blank=True, help_text="kept as the shop gave it")
    order_id = models.CharField(
        max_length=100, blank=True, default="", db_index=True, help_text="metadata.orderId"
    )
    speed_policy = models.CharField(max_length=16, choices=SpeedPolicy.choices)
    redirect_url = models.URLField(max_length=500, blank=True, default="")
    redirect_automatically = models.BooleanField(default=False)
    expires_at = models.DateTimeField()
    monitoring_expires_at = models.DateTimeField()
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["store", "-created_at"], name="invoice_store"),
            models.Index(fields=["status", "monitoring_expires_at"], name="invoice_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"invoice {self.public_id} ({self.status})"


class PromptState(models.TextChoices):
    """A payment prompt's own states, beside the shared ones (funding.models.FundingState)."""

    # Its deposits are credited: the money is the invoice's until it is settled.
    PAID = "paid"
    # Its money is being paid to the store.
    SETTLING = "settling"


# A prompt's transitions (PaymentPrompt.TRANSITIONS): the shared lifecycle, its own, and
# the hold of the states where credited money sits. A deposit after the expiry is credited
# too (the invoice is then paid late, and the store decides).
PROMPT_TRANSITIONS = transition_table(
    own={
        FundingState.CONFIRMING: {PromptState.PAID},
        FundingState.EXPIRED: {PromptState.PAID},
        PromptState.PAID: {PromptState.SETTLING, FundingState.REFUNDING, FundingState.COMPLETED},
        PromptState.SETTLING: {FundingState.COMPLETED, FundingState.FAILED},
        FundingState.FAILED: {PromptState.SETTLING},
    },
    holdable={PromptState.PAID, PromptState.SETTLING, FundingState.REFUNDING, FundingState.FAILED},
)
# Every state a prompt can be in.
PROMPT_STATE_CHOICES = state_choices(PromptState)


class PaymentPrompt(FundedOrder):
    """What an invoice asks in one coin: the rate it was priced at and the amount due."""

    OWNER_KIND = OwnerKind.PROMPT
    CURRENCY_FIELD = "currency"
    AMOUNT_DUE_FIELD = "due"
    PARTY_FIELDS = ("store_owner_id",)
    TRANSITIONS = PROMPT_TRANSITIONS
    PAYING_STATE_OF_KIND = {PayoutKind.SETTLE: PromptState.SETTLING}
    CONFIRMED_TO = {PromptState.SETTLING: FundingState.COMPLETED}

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="prompts")
    store_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", help_text="paid"
    )
    currency = models.CharField(max_length=3, choices=Currency.choices)
    rate = models.DecimalField(
        max_digits=40, decimal_places=18, help_text="pricing currency per whole coin"
    )
    due = models.PositiveBigIntegerField(help_text="the invoice's price at the rate, base units")
    received_amount = models.PositiveBigIntegerField(default=0, help_text="credited, base units")
    fee_bps = models.PositiveIntegerField(help_text="the platform's fee on its settlement")
    account = models.OneToOneField(
        "wallets.WalletAccount", on_delete=models.PROTECT, related_name="prompt", null=True
    )
    state = models.CharField(
        max_length=24, choices=PROMPT_STATE_CHOICES, default=FundingState.AWAITING_DEPOSIT
    )
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "expires_at"], name="prompt_state_expiry")]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "currency"], name="prompt_per_currency"),
            models.CheckConstraint(condition=Q(due__gt=0), name="prompt_due_positive"),
        ]

    def __str__(self) -> str:
        return f"prompt {self.id}: invoice {self.invoice_id} in {self.currency} ({self.state})"


class InvoiceEventType(models.TextChoices):
    """Greenfield's webhook events of an invoice, in the order they happen."""

    CREATED = "InvoiceCreated"
    RECEIVED_PAYMENT = "InvoiceReceivedPayment"
    PAYMENT_SETTLED = "InvoicePaymentSettled"
    PROCESSING = "InvoiceProcessing"
    EXPIRED = "InvoiceExpired"
    SETTLED = "InvoiceSettled"
    INVALID = "InvoiceInvalid"


class InvoiceEvent(models.Model):
    """What happened to an invoice, in order, with the fields Greenfield's webhook of that
    type carries: the invoice's history, and what its store's webhooks are sent."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=32, choices=InvoiceEventType.choices)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["invoice", "id"], name="invoice_event_order")]

    def __str__(self) -> str:
        return f"{self.type} of invoice {self.invoice_id}"


class RefundVariant(models.TextChoices):
    """Greenfield's ``refundVariant``: how much of what was paid is refunded. BTCPay's
    ``Fiat`` (a refund in the pricing currency, converted when it is claimed) is not
    offered: a refund's amount is fixed in the coin when the store asks for it."""

    RATE_THEN = "RateThen"  # what was paid, in the coin it was paid in
    CURRENT_RATE = (
        "CurrentRate"  # what was paid, valued in the pricing currency then, at today's rate
    )
    OVERPAID = "OverpaidAmount"  # what was paid beyond the amount due
    CUSTOM = "Custom"  # ``customAmount`` of ``customCurrency``


class RefundState(models.TextChoices):
    OPEN = "open", "waiting for the customer's address"
    AWAITING_APPROVAL = "awaiting_approval", "claimed, waiting for staff approval"
    PAYING = "paying", "claimed and paid out once (see its payout)"
    REJECTED = "rejected", "refused by staff: the money went back to where it came from"
    CANCELLED = "cancelled", "withdrawn by the store before a claim: the money went back"


# A refund's transitions, applied only by invoices.services.refunds.
REFUND_TRANSITIONS: dict[str, set[str]] = {
    RefundState.OPEN: {RefundState.AWAITING_APPROVAL, RefundState.PAYING, RefundState.CANCELLED},
    RefundState.AWAITING_APPROVAL: {RefundState.PAYING, RefundState.REJECTED},
    RefundState.PAYING: set(),
    RefundState.REJECTED: set(),
    RefundState.CANCELLED: set(),
}


class Refund(models.Model):
    """A refund of an invoice, as Greenfield's pull payment: the store sets its amount
    aside from money the engine holds of the invoice (``source``), the customer claims it
    on its page (``/refunds/{id}``) with their own address, and it is paid once.

    While it is open, its amount is held in the ledger account ``holder``, so no other
    refund or settlement can spend it."""

    public_id = models.CharField(
        max_length=22, unique=True, default=new_invoice_id, editable=False, help_text="refund id"
    )
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="refunds")
    prompt = models.ForeignKey(PaymentPrompt, on_delete=models.PROTECT, related_name="refunds")
    name = models.CharField(max_length=100, blank=True, default="")
    description = models.TextField(blank=True, default="")
    variant = models.CharField(max_length=16, choices=RefundVariant.choices)
    subtract_percentage = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    amount = models.PositiveBigIntegerField(help_text="base units, fixed when it was asked for")
    source = models.CharField(max_length=64, help_text="the ledger account it was set aside from")
    state = models.CharField(max_length=20, choices=RefundState.choices, default=RefundState.OPEN)
    address = models.CharField(max_length=128, blank=True, default="", help_text="claimed to")
    claimed_at = models.DateTimeField(null=True, blank=True)
    approval = models.OneToOneField(
        "staff.StaffApproval", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payout = models.OneToOneField(
        "wallets.Payout", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["invoice", "id"], name="refund_invoice")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"refund {self.public_id} of invoice {self.invoice_id} ({self.state})"

    @property
    def holder(self) -> str:
        """The ledger account its amount is held in until it is paid or rejected."""
        return f"customer:refund:{self.id}"


class Withdrawal(models.Model):
    """A merchant's balance taken out to their payout address: one payout from each deposit
    account whose invoice credited the balance (``prompt_{id}:withdrawal:{id}``), each
    made once."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawals"
    )
    currency = models.CharField(max_length=3, choices=Currency.choices)
    amount = models.PositiveBigIntegerField(help_text="base units, all its payouts together")
    address = models.CharField(max_length=128)
    payouts = models.PositiveIntegerField(help_text="how many payouts it was paid in")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "-created_at"], name="withdrawal_owner")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="withdrawal_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"withdrawal {self.id}: {self.amount} {self.currency} to {self.address}"
