"""What the admin pages of every funded order share: its audit trail, deposits, payouts
and ownership trail (read-only), and the staff action that retries its failed payouts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.http import HttpRequest
from django.utils.html import format_html_join

from exchange.admin_actions import ReasonForm, confirmed_action
from funding.models import FundedOrder, FundingEvent
from ownership.models import OwnershipTransfer
from staff.models import StaffAction
from staff.services.approvals import approval_request
from wallets.models import Deposit, Payout, PayoutHold, PayoutState

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from staff.models import StaffApproval


def _rows(template: str, rows: Iterable[Iterable[object]]) -> str:
    return format_html_join("\n", template, rows) or "—"


def payouts_html(payouts: Iterable[Payout]) -> str:
    """A payout per line: id, kind, state, where, how much, the fee it really paid (its
    fee bump's included), txid (and its bump's), last error."""
    return _rows(
        "<div>#{} {} {} → {}: {} base units (fee {}), txid {}{} {}</div>",
        (
            (
                p.id,
                p.kind,
                p.state,
                p.address,
                p.amount,
                p.total_fee,
                p.txid or "—",
                f", fee bump {p.bump_txid} ({p.bump_fee})" if p.bump_txid else "",
                p.last_error,
            )
            for p in payouts
        ),
    )


class RetryForm(ReasonForm):
    address = forms.CharField(
        max_length=128, required=False, help_text="a new address, only for a payout never built"
    )
    sent_as = forms.CharField(
        max_length=128,
        required=False,
        help_text="only for a payout a restore held: the transaction its account sent after"
        " the backup, which is this payout (checked against the node; nothing is sent)",
    )


def _retry_failed_payouts(
    obj: FundedOrder, user: User, reason: str, address: str = "", sent_as: str = ""
) -> list[StaffApproval]:
    """The admin's retry, for a signed-in staff ``user`` (the admin site lets no one
    else in): an approval asked for each failed payout, and each a restore held (released,
    or recorded as ``sent_as``); those waiting are returned."""
    stuck = Payout.objects.filter(owner_kind=obj.OWNER_KIND, owner_id=obj.id).filter(
        Q(state=PayoutState.FAILED) | Q(state=PayoutState.HELD, hold_kind=PayoutHold.RESTORE)
    )
    stuck = stuck.order_by("id")
    if not stuck:
        raise ValueError("no failed payout, nor one a restore held")
    if (address or sent_as) and len(stuck) > 1:
        raise ValueError(
            f"a new address or a transaction is for one payout at a time: select one"
            f" {obj.OWNER_KIND}"
        )
    waiting: list[StaffApproval] = []
    for payout in stuck:
        pending = approval_request(
            action=StaffAction.RETRY_PAYOUT,
            owner_kind=obj.OWNER_KIND,
            owner_id=obj.id,
            actor=user,
            reason=reason,
            params={"payout_id": payout.id, "address": address, "sent_as": sent_as},
        )
        if pending:
            waiting.append(pending)
    return waiting


retry_payouts_action = confirmed_action(
    name="retry_payout",
    title="Retry failed payouts",
    explanation="Puts failed payouts back to work; stored transactions are relayed "
    "again as they are, never rebuilt. A payout a restore held is released to be built and "
    "sent, or, with the transaction its account sent after the backup, recorded as it.",
    call=_retry_failed_payouts,
    form_class=RetryForm,
)


class FundedOrderAdmin(admin.ModelAdmin):
    """Read-only pages: staff change a funded order through its actions only."""

    funded_fields = ("history", "deposits", "payouts", "ownership")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: FundedOrder | None = None) -> bool:
        return False

    @admin.display(description="history")
    def history(self, obj: FundedOrder) -> str:
        return _rows(
            "<div>{} {}: {} → {} by {} {} {}</div>",
            (
                (e.created_at, e.kind, e.from_state, e.to_state, e.actor or "—", e.reason, e.data)
                for e in obj.events.select_related("actor").order_by("id")
            ),
        )

    @admin.display(description="deposits")
    def deposits(self, obj: FundedOrder) -> str:
        return _rows(
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
                for d in Deposit.objects.filter(account_id=obj.account_id).order_by("id")
            ),
        )

    @admin.display(description="payouts")
    def payouts(self, obj: FundedOrder) -> str:
        return payouts_html(
            Payout.objects.filter(owner_kind=obj.OWNER_KIND, owner_id=obj.id).order_by("id")
        )

    @admin.display(description="ownership")
    def ownership(self, obj: FundedOrder) -> str:
        return _rows(
            "<div>{}: {} → {} {} ({})</div>",
            (
                (t.created_at, t.from_party, t.to_party, t.amount, t.reason)
                for t in OwnershipTransfer.objects.filter(
                    owner_kind=obj.OWNER_KIND, owner_id=obj.id
                ).order_by("id")
            ),
        )


@admin.register(FundingEvent)
class FundingEventAdmin(admin.ModelAdmin):
    """The audit trail of orders and swaps: append-only."""

    list_display = ("id", "created_at", "owner_kind", "owner_id", "kind", "from_state", "to_state")
    list_filter = ("owner_kind", "kind")
    search_fields = ("=owner_id", "actor__username", "reason")
    readonly_fields = [f.name for f in FundingEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: FundingEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: FundingEvent | None = None) -> bool:
        return False
