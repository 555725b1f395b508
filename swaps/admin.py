"""Staff view of swaps (read-only fields; refunds and payout retries are admin actions,
approved like every staff money move: staff.services.approvals) and of their pricing and
the house's liquidity: quotes, liquidity per currency and the swaps' reservations, all
read-only."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from exchange.admin_actions import confirmed_action
from funding.admin import FundedOrderAdmin, retry_payouts_action
from staff.admin import ask_approval
from staff.models import StaffAction
from swaps.liquidity import liquidity_figures
from swaps.models import Liquidity, LiquidityReservation, Quote, SwapOrder
from wallets.models import OwnerKind


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Quote)
class QuoteAdmin(ReadOnly):
    list_display = (
        "public_id",
        "kind",
        "from_currency",
        "amount_from",
        "to_currency",
        "amount_to",
        "rate",
        "spread_bps",
        "expires_at",
        "created_at",
    )
    list_filter = ("kind", "from_currency")
    search_fields = ("=public_id",)
    date_hierarchy = "created_at"


@admin.register(Liquidity)
class LiquidityAdmin(ReadOnly):
    """The house's liquidity per currency: the node's reading, what the reading does not show
    yet, what swaps reserved, what is available."""

    list_display = (
        "currency",
        "spendable",
        "spendable_at",
        "unshown_payouts",
        "reserved",
        "available",
    )

    @admin.display(description="payouts not in the reading")
    def unshown_payouts(self, row: Liquidity) -> int:
        return liquidity_figures(currency=row.currency)["unshown_payouts"]

    @admin.display(description="reserved")
    def reserved(self, row: Liquidity) -> int:
        return liquidity_figures(currency=row.currency)["reserved"]

    @admin.display(description="available")
    def available(self, row: Liquidity) -> int:
        return liquidity_figures(currency=row.currency)["available"]


@admin.register(LiquidityReservation)
class LiquidityReservationAdmin(ReadOnly):
    list_display = ("swap_id", "currency", "amount", "state", "created_at", "updated_at")
    list_filter = ("currency", "state")
    search_fields = ("=swap_id",)


@admin.register(SwapOrder)
class SwapOrderAdmin(FundedOrderAdmin):
    list_display = (
        "id",
        "state",
        "kind",
        "from_currency",
        "amount_from",
        "to_currency",
        "amount_to_gross",
        "user",
        "created_at",
        "expires_at",
    )
    list_filter = ("state", "kind", "from_currency")
    search_fields = ("=id", "=public_id", "account__address", "payout_address", "refund_address")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in SwapOrder._meta.fields] + list(
        FundedOrderAdmin.funded_fields
    )
    actions = [
        confirmed_action(
            name="refund",
            title="Refund to the customer",
            explanation="Sends what the customer paid back to their refund address "
            "(swaps waiting for the customer's choice, or failed).",
            call=ask_approval(StaffAction.SWAP_REFUND, OwnerKind.SWAP),
        ),
        retry_payouts_action,
    ]
