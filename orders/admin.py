from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from exchange.admin_actions import ReasonForm, confirmed_action
from exchange.money import to_display
from funding.admin import FundedOrderAdmin, retry_payouts_action
from orders.models import EscrowOrder, VendorPayoutAddress
from staff.admin import ask_approval
from staff.models import StaffAction
from wallets.models import OwnerKind


class SplitForm(ReasonForm):
    vendor_amount = forms.IntegerField(min_value=0, help_text="base units to the vendor")
    buyer_amount = forms.IntegerField(min_value=0, help_text="base units to the buyer")


class RefundAddressForm(ReasonForm):
    refund_address = forms.CharField(max_length=128, help_text="checked like the buyer's own")


@admin.register(EscrowOrder)
class EscrowOrderAdmin(FundedOrderAdmin):
    list_display = (
        "id",
        "state",
        "currency",
        "amount_shown",
        "buyer",
        "vendor",
        "created_at",
        "expires_at",
    )
    list_filter = ("state", "currency")
    search_fields = (
        "=id",
        "buyer__username",
        "vendor__username",
        "account__address",
        "refund_address",
    )
    date_hierarchy = "created_at"
    readonly_fields = (
        "buyer",
        "vendor",
        "currency",
        "amount",
        "fee_bps",
        "fee_amount",
        "account",
        "state",
        "confirmations_required",
        "expires_at",
        "escrowed_amount",
        "escrowed_at",
        "closed_at",
        "dispute_reason",
        "created_at",
        "updated_at",
        *FundedOrderAdmin.funded_fields,
    )
    fields = ("description", "refund_address", *readonly_fields)
    actions = [
        confirmed_action(
            name="release",
            title="Release to the vendor",
            explanation="Pays the escrow (less the platform fee) to the vendor's payout address.",
            call=ask_approval(StaffAction.RELEASE, OwnerKind.ORDER),
        ),
        confirmed_action(
            name="refund",
            title="Refund to the buyer",
            explanation="Pays the escrow back to the buyer's refund address.",
            call=ask_approval(StaffAction.REFUND, OwnerKind.ORDER),
        ),
        confirmed_action(
            name="split",
            title="Split between vendor and buyer",
            explanation="Resolves a dispute with a payout to each side; the shares must add up "
            "to the escrowed amount. The platform fee applies to the vendor's share.",
            call=ask_approval(
                StaffAction.SPLIT,
                OwnerKind.ORDER,
                vendor_amount="vendor_amount",
                buyer_amount="buyer_amount",
            ),
            form_class=SplitForm,
            single=True,
        ),
        retry_payouts_action,
        confirmed_action(
            name="cancel",
            title="Cancel unpaid orders",
            explanation="Cancels orders nobody paid; a later deposit is refunded.",
            call=ask_approval(StaffAction.CANCEL, OwnerKind.ORDER),
        ),
        confirmed_action(
            name="refund_address",
            title="Change the refund address",
            explanation="Sets where the buyer's refunds go; always needs a second staff "
            "member's approval before it takes effect.",
            call=ask_approval(
                StaffAction.REFUND_ADDRESS, OwnerKind.ORDER, refund_address="refund_address"
            ),
            form_class=RefundAddressForm,
            single=True,
        ),
    ]

    def get_readonly_fields(
        self, request: HttpRequest, obj: EscrowOrder | None = None
    ) -> tuple[str, ...]:
        return (*self.readonly_fields, "description", "refund_address")

    @admin.display(description="amount")
    def amount_shown(self, order: EscrowOrder) -> str:
        return f"{to_display(order.amount, order.currency)} {order.currency}"


@admin.register(VendorPayoutAddress)
class VendorPayoutAddressAdmin(admin.ModelAdmin):
    """Read-only: a vendor sets where they are paid themselves; staff cannot redirect it."""

    list_display = ("user", "currency", "address", "updated_at")
    list_filter = ("currency",)
    search_fields = ("user__username", "address")
    readonly_fields = ("user", "currency", "address", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: VendorPayoutAddress | None = None
    ) -> bool:
        return False
