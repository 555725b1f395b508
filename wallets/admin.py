from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from wallets.models import BalanceSync, Deposit, MasterWallet, Payout, WalletAccount


@admin.register(MasterWallet)
class MasterWalletAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "chain",
        "name",
        "network",
        "capacity",
        "is_active",
        "scanned_height",
        "scanned_at",
    )
    list_filter = ("chain", "is_active")
    readonly_fields = ("scanned_height", "scanned_at", "created_at")

    # Read-only: where deposits go is the deployment's settings, never an admin edit.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: MasterWallet | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: MasterWallet | None = None) -> bool:
        return False


@admin.register(WalletAccount)
class WalletAccountAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "chain",
        "account_index",
        "state",
        "purpose",
        "owner_kind",
        "owner_id",
        "address",
        "node_balance",
        "drift",
        "assigned_at",
    )
    list_filter = ("chain", "state", "purpose")
    search_fields = ("address", "node_name", "=owner_id", "=account_index")
    readonly_fields = [f.name for f in WalletAccount._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: WalletAccount | None = None) -> bool:
        return False


@admin.register(Deposit)
class DepositAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "chain",
        "account",
        "txid",
        "output_key",
        "amount",
        "confirmations",
        "unlocked",
        "dropped",
        "flagged",
        "credited_at",
        "first_seen_at",
    )
    list_filter = ("chain", "flagged", "dropped", "unlocked")
    search_fields = ("txid",)
    readonly_fields = [f.name for f in Deposit._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Deposit | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Deposit | None = None) -> bool:
        return False


@admin.register(BalanceSync)
class BalanceSyncAdmin(admin.ModelAdmin):
    list_display = (
        "chain",
        "finished_at",
        "accounts",
        "node_calls",
        "drift_accounts",
        "drift_total",
    )
    list_filter = ("chain",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: BalanceSync | None = None) -> bool:
        return False


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "key",
        "chain",
        "state",
        "kind",
        "amount",
        "network_fee",
        "bump_fee",
        "fee_paid",
        "txid",
        "confirmations",
        "updated_at",
    )
    list_filter = ("chain", "state", "kind", "hold_kind")
    search_fields = ("key", "txid", "address", "bump_txid")
    readonly_fields = [*(f.name for f in Payout._meta.fields), "fee_paid"]

    @admin.display(description="fee paid (with its bump)")
    def fee_paid(self, obj: Payout) -> int:
        return obj.total_fee

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Payout | None = None) -> bool:
        return False
