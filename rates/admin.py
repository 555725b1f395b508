"""Staff view of the rate refreshes: every snapshot of every pair, read-only, with each
provider's health."""

from __future__ import annotations

import json

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from rates.models import RateSnapshot
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
    list_display = (
        "created_at",
        "pair",
        "rate",
        "ok",
        "sources_used",
        "provider_status",
        "error_short",
    )
    list_filter = ("pair", "ok", ProviderProblemFilter)
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
