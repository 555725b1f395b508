"""Staff money moves on someone else's order or swap: what staff may do (each action its
own permission) and the moves waiting for a second staff member.

The approvals' table keeps the name it had in the orders app (``orders_staffapproval``):
the model moved, the rows did not.

Amounts are integers in base units (satoshi for BTC, piconero for XMR).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from orders.models import Currency


class StaffAction(models.TextChoices):
    """What staff may do to someone else's order or swap; each needs its own permission."""

    RELEASE = "release", "release an escrow to the vendor"
    REFUND = "refund", "refund an escrow to the buyer"
    SPLIT = "split", "split an escrow between vendor and buyer"
    CANCEL = "cancel", "cancel an unpaid order"
    REFUND_ADDRESS = "refund_address", "change a buyer's refund address"
    RETRY_PAYOUT = "retry_payout", "retry a failed payout"
    SWAP_REFUND = "swap_refund", "refund a swap"
    INVOICE_REFUND = "invoice_refund", "pay a refund a customer claimed of a store's invoice"


class ApprovalState(models.TextChoices):
    PENDING = "pending"
    EXECUTED = "executed"
    REJECTED = "rejected"


class StaffApproval(models.Model):
    """A staff money move that waits for a second staff member (staff.services).

    The move runs in the transaction that records the approval, with the requester as
    its actor; both names and reasons are in the order's or swap's audit trail."""

    action = models.CharField(max_length=24, choices=StaffAction.choices)
    owner_kind = models.CharField(max_length=8, help_text="order, swap or prompt")
    owner_id = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, choices=Currency.choices)
    amount = models.PositiveBigIntegerField(help_text="base units the move pays out")
    params = models.JSONField(default=dict, blank=True, help_text="the move's own inputs")
    state = models.CharField(
        max_length=10, choices=ApprovalState.choices, default=ApprovalState.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    request_reason = models.CharField(max_length=500)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "orders_staffapproval"
        indexes = [models.Index(fields=["state", "-created_at"], name="approval_state")]
        permissions = [
            ("release_escrow", "Can release someone else's escrow to the vendor"),
            ("refund_escrow", "Can refund someone else's escrow to the buyer"),
            ("split_escrow", "Can split a disputed escrow"),
            ("cancel_order", "Can cancel an unpaid order"),
            ("change_refund_address", "Can change a buyer's refund address"),
            ("retry_payout", "Can retry a failed payout"),
            ("refund_swap", "Can refund a swap"),
            ("approve_money_move", "Can approve another staff member's money move"),
        ]

    def __str__(self) -> str:
        return f"approval {self.id}: {self.action} {self.owner_kind} {self.owner_id} ({self.state})"
