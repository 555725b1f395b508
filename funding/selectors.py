"""Reads of a funded order that combine tables: what was paid, its payouts, its trails."""

from __future__ import annotations

from dataclasses import dataclass

from funding.models import FundedOrder
from ownership.models import OwnershipTransfer
from wallets.models import Deposit, Payout


@dataclass(frozen=True)
class Payment:
    seen: int  # every deposit the node reports, unconfirmed included
    credited: int  # deposits counted (enough confirmations, unlocked)
    missing: int  # what the order still lacks (0 for a swap: it takes what arrives)
    confirmations: int  # the least confirmed live deposit's
    deposits: list[Deposit]


def payment(owner: FundedOrder, *, due: int = 0) -> Payment:
    """What was paid into a funded order's account, against ``due`` base units."""
    deposits = list(Deposit.objects.filter(account_id=owner.account_id).order_by("id"))
    live = [d for d in deposits if not d.dropped]
    seen = sum(d.amount for d in live)
    return Payment(
        seen=seen,
        credited=sum(d.amount for d in live if d.credited_at),
        missing=max(0, due - seen),
        confirmations=min((d.confirmations for d in live), default=0),
        deposits=deposits,
    )


def payouts_of(owner: FundedOrder) -> list[Payout]:
    return list(
        Payout.objects.filter(owner_kind=owner.OWNER_KIND, owner_id=owner.id).order_by("id")
    )


def history_of(owner: FundedOrder) -> dict:
    """The audit trail and the ownership trail of a funded order."""
    return {
        "events": list(owner.events.select_related("actor").order_by("id")),
        "ownership": list(
            OwnershipTransfer.objects.filter(
                owner_kind=owner.OWNER_KIND, owner_id=owner.id
            ).order_by("id")
        ),
    }
