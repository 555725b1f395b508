"""Staff view of swap pricing and the house's liquidity: quotes, liquidity per currency and
the swaps' reservations, all read-only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from swaps.liquidity import liquidity_figures
from swaps.models import Liquidity, LiquidityReservation, Quote


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
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
