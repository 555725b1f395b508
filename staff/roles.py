"""The staff roles, as Django groups kept in step with this table after every migrate.

- ``support`` sees everything in the admin and moves nothing;
- ``payments`` also takes the money moves of ``staff.StaffApproval``'s permissions
  (alone below ``STAFF_APPROVAL_ABOVE``, with an approver above it or for an address);
- ``approver`` also approves or rejects another staff member's move.

A superuser holds every permission; a move still needs a second person to approve it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.apps import AppConfig

# Apps whose every model support staff may view.
VIEWABLE_APPS = (
    "funding",
    "orders",
    "staff",
    "wallets",
    "ownership",
    "rates",
    "swaps",
    "stores",
    "invoices",
    "webhooks",
    "exchange",
    "operations",
    "auth",
)
MONEY_PERMISSIONS = (
    "release_escrow",
    "refund_escrow",
    "split_escrow",
    "cancel_order",
    "change_refund_address",
    "retry_payout",
    "refund_swap",
)
# Admin actions on orders and swaps need the model's change permission; every field of
# those models is read-only in the admin, so it grants nothing else. Each role's
# permissions beyond viewing, by app label.
ROLES: dict[str, dict] = {
    "support": {"view": True, "grants": {}},
    "payments": {
        "view": True,
        "grants": {
            "staff": MONEY_PERMISSIONS,
            "orders": ("change_escroworder",),
            "swaps": ("change_swaporder",),
        },
    },
    "approver": {
        "view": True,
        "grants": {"staff": ("approve_money_move", "change_staffapproval")},
    },
}


def roles_sync(*, sender: AppConfig, **kwargs: object) -> None:
    """Create or update the role groups. Connected to post_migrate, which is sent once per
    app: it acts on the last app's, when every app's permissions exist."""
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    if sender is not [app for app in apps.get_app_configs() if app.models_module][-1]:
        return

    for name, spec in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted: set[int] = set()
        for app_label, codenames in spec["grants"].items():
            wanted |= set(
                Permission.objects.filter(
                    content_type__app_label=app_label, codename__in=codenames
                ).values_list("id", flat=True)
            )
        if spec["view"]:
            wanted |= set(
                Permission.objects.filter(
                    content_type__app_label__in=VIEWABLE_APPS, codename__startswith="view_"
                ).values_list("id", flat=True)
            )
        group.permissions.set(wanted)
