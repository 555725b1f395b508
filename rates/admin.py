"""Staff view of the rate refreshes: every snapshot, read-only, with each provider's health."""

from __future__ import annotations

import json

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from rates.liquidity import liquidity_figures
from rates.models import Liquidity, LiquidityReservation, Quote, RateSnapshot
from rates.providers.base import PROVIDER_CLASSES


def _provider_line(name: str, entry: dict) -> tuple[str, str, str]:
    if entry.get("used"):
        return name, "✓", f"{entry.get('value')} · {entry.get('latency_ms')} ms"
    if entry.get("dropped_reason"):
        return name, "⚠", f"dropped: {entry['dropped_reason']}"
    if entry.get("error"):
        return name, "✗", f"{entry['error']} · {entry.get('latency_ms')} ms"
    return name, "–", f"{entry.get('value')} (not used: no quorum)"


class ProviderProblemFilter(admin.SimpleListFilter):
    """Snapshots in which one provider's value was not used (it failed or was dropped)."""

    title = "provider not used"
    parameter_name = "provider_not_used"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(name, name) for name in sorted(PROVIDER_CLASSES)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        name = self.value()
        if name not in PROVIDER_CLASSES:
            return queryset
        return queryset.filter(**{f"sources__{name}__used": False})


@admin.register(RateSnapshot)
class RateSnapshotAdmin(admin.ModelAdmin):
    list_display = ("created_at", "rate", "ok", "sources_used", "provider_status", "error_short")
    list_filter = ("ok", ProviderProblemFilter)
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    fields = ("created_at", "pair", "rate", "ok", "error", "provider_status", "sources_json")
    readonly_fields = fields
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RateSnapshot | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RateSnapshot | None = None) -> bool:
        return False

    @admin.display(description="sources used")
    def sources_used(self, obj: RateSnapshot) -> str:
        return f"{obj.sources_used} of {len(obj.sources or {})}"

    @admin.display(description="providers")
    def provider_status(self, obj: RateSnapshot) -> str:
        lines = [_provider_line(name, entry) for name, entry in (obj.sources or {}).items()]
        return format_html_join("", "<strong>{}</strong> {} {}<br>", lines) or "—"

    @admin.display(description="error")
    def error_short(self, obj: RateSnapshot) -> str:
        return obj.error if len(obj.error) <= 120 else f"{obj.error[:120]}…"

    @admin.display(description="sources (raw)")
    def sources_json(self, obj: RateSnapshot) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.sources, indent=2, sort_keys=True))


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
