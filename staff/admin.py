"""The admin of staff approvals, and of who holds a staff role (staff.roles)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.http import HttpRequest

from exchange.admin_actions import confirmed_action
from funding.models import FundedOrder
from staff.models import StaffApproval
from staff.services.approvals import approval_decide, approval_request


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


# Who holds a role (staff.roles) is changed by superusers only, and never by anyone on
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
