"""The admin of invoices: read-only pages, each prompt with its audit trail, deposits,
payouts and ownership trail; staff retry a prompt's failed payout. Refunds and merchants'
withdrawals are listed here (their payouts are the prompts'); a refund's claim that waits
for approval is decided in the staff approvals."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from funding.admin import FundedOrderAdmin, retry_payouts_action
from invoices.models import Invoice, InvoiceEvent, PaymentPrompt, Refund, Withdrawal


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows only the services write: staff read them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PromptInline(admin.TabularInline):
    model = PaymentPrompt
    fields = ("currency", "state", "rate", "due", "received_amount", "account")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        return False


class RefundInline(admin.TabularInline):
    model = Refund
    fields = ("public_id", "currency", "amount", "state", "address", "payout", "approval")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        return False


class EventInline(admin.TabularInline):
    model = InvoiceEvent
    fields = ("created_at", "type", "data")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "store",
        "status",
        "additional_status",
        "amount",
        "currency",
        "order_id",
        "created_at",
    )
    list_filter = ("status", "additional_status", "currency")
    search_fields = ("=public_id", "=order_id", "store__name", "=store__public_id")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Invoice._meta.fields]
    inlines = [PromptInline, RefundInline, EventInline]


@admin.register(PaymentPrompt)
class PaymentPromptAdmin(FundedOrderAdmin):
    list_display = ("id", "invoice", "currency", "state", "due", "received_amount", "created_at")
    list_filter = ("state", "currency")
    search_fields = ("=id", "=invoice__public_id", "account__address")
    readonly_fields = [f.name for f in PaymentPrompt._meta.fields] + list(
        FundedOrderAdmin.funded_fields
    )
    actions = [retry_payouts_action]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "invoice", "currency", "amount", "state", "variant", "created_at")
    list_filter = ("state", "currency", "variant")
    search_fields = ("=public_id", "=invoice__public_id", "address")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Refund._meta.fields]


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "currency", "amount", "payouts", "address", "created_at")
    list_filter = ("currency",)
    search_fields = ("=id", "owner__username", "address")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Withdrawal._meta.fields]
