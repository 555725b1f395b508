"""Reads of the ledger and the ownership trail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import F, Sum

from ownership.models import LedgerEntry, OwnershipTransfer


def ledger_balance(*, currency: str, account: str) -> int:
    """sum(debit) − sum(credit) of one account code."""
    row = LedgerEntry.objects.filter(currency=currency, account=account).aggregate(
        d=Sum("debit"), c=Sum("credit")
    )
    return int(row["d"] or 0) - int(row["c"] or 0)


def ledger_balances(*, currency: str, prefix: str = "") -> dict[str, int]:
    """Every account's balance in a currency (optionally those starting with ``prefix``)."""
    rows = LedgerEntry.objects.filter(currency=currency)
    if prefix:
        rows = rows.filter(account__startswith=prefix)
    return {
        row["account"]: int(row["d"] or 0) - int(row["c"] or 0)
        for row in rows.values("account").annotate(d=Sum("debit"), c=Sum("credit"))
    }


def ledger_unbalanced_transactions() -> list[Mapping[str, Any]]:
    """Transactions whose entries do not sum to zero in some currency (should be none)."""
    rows = (
        LedgerEntry.objects.values("transaction_id", "currency")
        .annotate(d=Sum("debit"), c=Sum("credit"))
        .exclude(d=F("c"))
    )
    return list(rows)


def ownership_trail(*, owner_kind: str, owner_id: int) -> list[OwnershipTransfer]:
    return list(
        OwnershipTransfer.objects.filter(owner_kind=owner_kind, owner_id=owner_id).order_by("id")
    )


def owner_held(*, owner_kind: str, owner_id: int, currency: str) -> int:
    """What the ledger says is still in an owner's account on the node: deposits it
    credited, less what its payouts sent and paid in network fees."""
    row = LedgerEntry.objects.filter(
        currency=currency,
        transaction__owner_kind=owner_kind,
        transaction__owner_id=owner_id,
        account__in=["deposits", "sent", "network:fees"],
    ).aggregate(d=Sum("debit"), c=Sum("credit"))
    return int(row["c"] or 0) - int(row["d"] or 0)
