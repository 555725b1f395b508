from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.http import HttpRequest

from exchange.admin_actions import ReasonForm, confirmed_action
from exchange.money import to_display
from funding.admin import FundedOrderAdmin, retry_payouts_action
from funding.models import FundedOrder
from orders.models import (
    EscrowOrder,
    StaffAction,
    StaffApproval,
    VendorPayoutAddress,
)
from orders.services.approvals import approval_decide, approval_request
from wallets.models import OwnerKind


class SplitForm(ReasonForm):
    vendor_amount = forms.IntegerField(min_value=0, help_text="base units to the vendor")
    buyer_amount = forms.IntegerField(min_value=0, help_text="base units to the buyer")


class RefundAddressForm(ReasonForm):
    refund_address = forms.CharField(max_length=128, help_text="checked like the buyer's own")


def ask_approval(action: str, owner_kind: str, **names: str) -> Callable[..., StaffApproval | None]:
    """An admin action's call: ask for the move (``approval_request``), passing the form's
    fields named in ``names`` as its params. The admin runs it for a signed-in staff
    ``user`` (the admin site lets no one else in)."""

    def call(obj: FundedOrder, user: User, reason: str, **cleaned: object) -> StaffApproval | None:
        return approval_request(
            action=action,
            owner_kind=owner_kind,
            owner_id=obj.id,
            actor=user,
            reason=reason,
            params={param: cleaned[field] for param, field in names.items()},
        )

    return call


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


def _decide(*, approve: bool) -> Callable[[StaffApproval, User, str], None]:
    def call(approval: StaffApproval, user: User, reason: str) -> None:
        approval_decide(approval_id=approval.id, actor=user, approve=approve, reason=reason)

    return call


@admin.register(StaffApproval)
class StaffApprovalAdmin(admin.ModelAdmin):
    """Money moves waiting for a second staff member, and who decided what."""

    list_display = (
        "id",
        "state",
        "action",
        "owner_kind",
        "owner_id",
        "amount",
        "currency",
        "requested_by",
        "decided_by",
        "created_at",
    )
    list_filter = ("state", "action", "currency")
    search_fields = ("=owner_id", "requested_by__username", "decided_by__username")
    readonly_fields = [f.name for f in StaffApproval._meta.fields]
    actions = [
        confirmed_action(
            name="approve",
            title="Approve and run",
            explanation="Runs each move now, with its requester as the actor; a move you "
            "asked for yourself needs someone else.",
            call=_decide(approve=True),
        ),
        confirmed_action(
            name="reject",
            title="Reject",
            explanation="Nothing is paid; the requester may ask again.",
            call=_decide(approve=False),
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StaffApproval]:
        return super().get_queryset(request).select_related("requested_by", "decided_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: StaffApproval | None = None) -> bool:
        return False


# Who holds a role (orders.roles) is changed by superusers only, and never by anyone on
# their own account: a staff member cannot give themselves a money permission, nor make
# a second account to approve their own requests with.
PRIVILEGE_FIELDS = ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")


class UserAdmin(auth_admin.UserAdmin):
    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser or (obj is not None and obj.pk == request.user.pk):
            fields += PRIVILEGE_FIELDS
        return fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser


class GroupAdmin(auth_admin.GroupAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return request.user.is_superuser


for model, model_admin in ((get_user_model(), UserAdmin), (Group, GroupAdmin)):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
