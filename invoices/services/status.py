"""An invoice's status from what its prompts received, as Greenfield reads it (BTCPay's
invoice watcher): pure, so every rule is tested without a chain.

Each prompt asks the whole price in its coin; a payment counts as the share of the price
it covers (``received / due``), so paying half in one coin and half in another pays the
invoice, compared exactly with fractions, never with floats."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from invoices.models import AdditionalStatus, InvoiceStatus


@dataclass(frozen=True)
class PromptFigures:
    due: int  # the price in the prompt's coin, base units
    seen: int  # every live deposit, confirmed or not
    credited: int  # deposits with the confirmations the store's policy needs


@dataclass(frozen=True)
class Standing:
    status: str
    additional: str

    @property
    def settled(self) -> bool:
        return self.status == InvoiceStatus.SETTLED


def share(figures: Iterable[PromptFigures], *, credited: bool = False) -> Fraction:
    """How much of the price the prompts' payments cover (1 is all of it)."""
    return sum((Fraction(p.credited if credited else p.seen, p.due) for p in figures), Fraction(0))


def standing(
    *,
    status: str,
    additional: str,
    prompts: list[PromptFigures],
    now: datetime,
    expires_at: datetime,
    monitoring_expires_at: datetime,
) -> Standing:
    """The invoice's next status. A status set by hand (``Marked``), a settled invoice and
    an invalid one keep theirs: payments after that are the store's to look at."""
    if additional == AdditionalStatus.MARKED or status in (
        InvoiceStatus.SETTLED,
        InvoiceStatus.INVALID,
    ):
        return Standing(status, additional)
    seen = share(prompts)
    paid = seen >= 1
    has_payment = seen > 0
    if status == InvoiceStatus.NEW and now >= expires_at and not paid:
        status = InvoiceStatus.EXPIRED
    if status == InvoiceStatus.NEW and paid:
        status = InvoiceStatus.PROCESSING
        additional = AdditionalStatus.PAID_OVER if seen > 1 else AdditionalStatus.NONE
    elif status == InvoiceStatus.EXPIRED and paid:
        additional = AdditionalStatus.PAID_LATE
    elif status in (InvoiceStatus.NEW, InvoiceStatus.EXPIRED) and has_payment:
        additional = AdditionalStatus.PAID_PARTIAL
    if status == InvoiceStatus.PROCESSING:
        if not paid:
            # A payment left the mempool (replaced, or dropped) before it confirmed.
            status = InvoiceStatus.NEW
            additional = AdditionalStatus.PAID_PARTIAL if has_payment else AdditionalStatus.NONE
        else:
            additional = AdditionalStatus.PAID_OVER if seen > 1 else AdditionalStatus.NONE
            if share(prompts, credited=True) >= 1:
                status = InvoiceStatus.SETTLED
            elif now > monitoring_expires_at:
                status = InvoiceStatus.INVALID
    return Standing(status, additional)
