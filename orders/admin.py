from django import forms
from django.contrib import admin
from django.utils.html import format_html_join

from exchange.admin_actions import ReasonForm, confirmed_action
from exchange.money import to_display
from orders import services
from orders.models import EscrowOrder, OrderEvent, SwapEvent, SwapOrder, VendorProfile
from orders.selectors import order_payouts, swap_payouts
from ownership.models import OwnershipTransfer
from wallets.models import Deposit, Payout, PayoutState


def payouts_html(payouts) -> str:
    """A payout per line: id, kind, state, where, how much, fee, txid, last error."""
    return (
        format_html_join(
            "\n",
            "<div>#{} {} {} → {}: {} base units (fee {}), txid {} {}</div>",
            (
                (
                    p.id,
                    p.kind,
                    p.state,
                    p.address,
                    p.amount,
                    p.network_fee,
                    p.txid or "—",
                    p.last_error,
                )
                for p in payouts
            ),
        )
        or "—"
    )


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "from_state", "to_state", "actor", "reason", "data")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class SplitForm(ReasonForm):
    vendor_amount = forms.IntegerField(min_value=0, help_text="base units to the vendor")
    buyer_amount = forms.IntegerField(min_value=0, help_text="base units to the buyer")


class RetryForm(ReasonForm):
    address = forms.CharField(
        max_length=128, required=False, help_text="a new address, only for a payout never built"
    )


def _retry_failed_payouts(order, user, reason, address=""):
    failed = [p for p in order_payouts(order) if p.state == PayoutState.FAILED]
    if not failed:
        raise ValueError("no failed payout")
    for payout in failed:
        services.order_retry_payout(
            payout_id=payout.id, actor=user, reason=reason, address=address or None
        )


@admin.register(EscrowOrder)
class EscrowOrderAdmin(admin.ModelAdmin):
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
    inlines = [OrderEventInline]
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
        "deposits",
        "payouts",
        "ownership",
    )
    fields = ("description", "refund_address", *readonly_fields)
    actions = [
        confirmed_action(
            name="release",
            title="Release to the vendor",
            explanation="Pays the escrow (less the platform fee) to the vendor's payout address.",
            call=lambda o, u, reason: services.order_release(order_id=o.id, actor=u, reason=reason),
        ),
        confirmed_action(
            name="refund",
            title="Refund to the buyer",
            explanation="Pays the escrow back to the buyer's refund address.",
            call=lambda o, u, reason: services.order_refund(order_id=o.id, actor=u, reason=reason),
        ),
        confirmed_action(
            name="split",
            title="Split between vendor and buyer",
            explanation="Resolves a dispute with a payout to each side; the shares must add up "
            "to the escrowed amount. The platform fee applies to the vendor's share.",
            call=lambda o, u, reason, vendor_amount, buyer_amount: services.order_split(
                order_id=o.id,
                actor=u,
                reason=reason,
                vendor_amount=vendor_amount,
                buyer_amount=buyer_amount,
            ),
            form_class=SplitForm,
            single=True,
        ),
        confirmed_action(
            name="retry_payout",
            title="Retry failed payouts",
            explanation="Puts failed payouts back to work; stored transactions are relayed "
            "again as they are, never rebuilt.",
            call=_retry_failed_payouts,
            form_class=RetryForm,
        ),
        confirmed_action(
            name="cancel",
            title="Cancel unpaid orders",
            explanation="Cancels orders nobody paid; a later deposit is refunded.",
            call=lambda o, u, reason: services.order_cancel(order_id=o.id, actor=u, reason=reason),
        ),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "description", "refund_address")

    @admin.display(description="amount")
    def amount_shown(self, order):
        return f"{to_display(order.amount, order.currency)} {order.currency}"

    @admin.display(description="deposits")
    def deposits(self, order):
        rows = Deposit.objects.filter(account_id=order.account_id).order_by("id")
        return (
            format_html_join(
                "\n",
                "<div>{} {}:{} — {} base units, {} conf, {}{}</div>",
                (
                    (
                        d.first_seen_at,
                        d.txid[:16],
                        d.output_key,
                        d.amount,
                        d.confirmations,
                        "credited" if d.credited_at else "not credited",
                        f", {d.flag_reason}" if d.flagged else "",
                    )
                    for d in rows
                ),
            )
            or "—"
        )

    @admin.display(description="payouts")
    def payouts(self, order):
        return payouts_html(order_payouts(order))

    @admin.display(description="ownership")
    def ownership(self, order):
        rows = OwnershipTransfer.objects.filter(owner_kind="order", owner_id=order.id).order_by(
            "id"
        )
        return (
            format_html_join(
                "\n",
                "<div>{}: {} → {} {} ({})</div>",
                ((t.created_at, t.from_party, t.to_party, t.amount, t.reason) for t in rows),
            )
            or "—"
        )


@admin.register(VendorProfile)
class VendorProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "btc_payout_address", "xmr_payout_address", "updated_at")
    search_fields = ("user__username",)


class SwapEventInline(admin.TabularInline):
    model = SwapEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "from_state", "to_state", "actor", "reason", "data")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def _retry_swap_payouts(swap, user, reason, address=""):
    failed = Payout.objects.filter(owner_kind="swap", owner_id=swap.id, state=PayoutState.FAILED)
    if not failed:
        raise ValueError("no failed payout")
    for payout in failed:
        services.swap_retry_payout(
            payout_id=payout.id, actor=user, reason=reason, address=address or None
        )


@admin.register(SwapOrder)
class SwapOrderAdmin(admin.ModelAdmin):
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
    inlines = [SwapEventInline]
    readonly_fields = [f.name for f in SwapOrder._meta.fields] + ["payouts"]
    actions = [
        confirmed_action(
            name="refund",
            title="Refund to the customer",
            explanation="Sends what the customer paid back to their refund address "
            "(swaps waiting for the customer's choice, or failed).",
            call=lambda s, u, reason: services.swap_refund(swap_id=s.id, actor=u, reason=reason),
        ),
        confirmed_action(
            name="retry_payout",
            title="Retry failed payouts",
            explanation="Puts failed payouts back to work; stored transactions are relayed "
            "again as they are, never rebuilt.",
            call=_retry_swap_payouts,
            form_class=RetryForm,
        ),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="payouts")
    def payouts(self, swap):
        return payouts_html(swap_payouts(swap))
