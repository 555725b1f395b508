from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from ownership.models import LedgerEntry, LedgerTransaction, OwnershipTransfer


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    extra = 0
    fields = ("currency", "account", "debit", "credit")
    readonly_fields = fields

    def has_add_permission(
        self, request: HttpRequest, obj: LedgerTransaction | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: LedgerTransaction | None = None
    ) -> bool:
        return False


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ("id", "memo", "owner_kind", "owner_id", "created_by", "created_at")
    search_fields = ("memo", "=owner_id")
    inlines = [LedgerEntryInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "transaction", "currency", "account", "debit", "credit")
    list_filter = ("currency",)
    search_fields = ("account",)


@admin.register(OwnershipTransfer)
class OwnershipTransferAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "owner_kind",
        "owner_id",
        "from_party",
        "to_party",
        "amount",
        "currency",
        "reason",
        "created_at",
    )
    list_filter = ("currency", "reason")
    search_fields = ("=owner_id", "from_party", "to_party")
