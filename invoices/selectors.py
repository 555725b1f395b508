"""Reads of invoices: one invoice or a store's list, with what each prompt was paid (its
deposits, read in one query for a whole page of invoices, never one per prompt), and what
is still due in each coin. Nothing here writes or calls a node."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Q, QuerySet, Sum

from funding.selectors import payment
from invoices.models import AdditionalStatus, Invoice, InvoiceStatus, PaymentPrompt, Refund
from invoices.services.status import PromptFigures, share
from ownership.models import LedgerBalance, LedgerEntry
from stores.models import Store
from wallets.chains import COINS
from wallets.models import Deposit, OwnerKind

# Greenfield's status filter accepts BTCPay's older names too (InvoiceRepository).
STATUS_NAMES = {
    "new": InvoiceStatus.NEW,
    "paid": InvoiceStatus.PROCESSING,
    "processing": InvoiceStatus.PROCESSING,
    "complete": InvoiceStatus.SETTLED,
    "confirmed": InvoiceStatus.SETTLED,
    "settled": InvoiceStatus.SETTLED,
    "expired": InvoiceStatus.EXPIRED,
    "invalid": InvoiceStatus.INVALID,
}
TEXT_SEARCH_MAX = 512


@dataclass(frozen=True)
class PromptPaid:
    """A prompt and its account's deposits (dropped ones included), oldest first."""

    prompt: PaymentPrompt
    deposits: list[Deposit]

    @property
    def figures(self) -> PromptFigures:
        seen = sum(d.amount for d in self.deposits if not d.dropped)
        return PromptFigures(due=self.prompt.due, seen=seen, credited=self.prompt.received_amount)


def invoice_of_store(*, store: Store, invoice_id: str) -> Invoice | None:
    return Invoice.objects.filter(store=store, public_id=invoice_id).select_related("store").first()


def invoice_get(*, id: int) -> Invoice:
    """The invoice as it is now (after a service changed it)."""
    return Invoice.objects.select_related("store").get(id=id)


def invoice_by_id(*, invoice_id: str) -> Invoice | None:
    """Any store's invoice: the caller checks who may see it."""
    return Invoice.objects.filter(public_id=invoice_id).select_related("store").first()


def invoices_paid(invoices: Sequence[Invoice]) -> dict[int, list[PromptPaid]]:
    """Each invoice's prompts (in the order they were made) with their deposits: two
    queries whatever the number of invoices."""
    prompts = list(
        PaymentPrompt.objects.filter(invoice__in=[i.id for i in invoices])
        .select_related("account")
        .order_by("id")
    )
    deposits: dict[int, list[Deposit]] = defaultdict(list)
    accounts = [p.account_id for p in prompts if p.account_id is not None]
    for deposit in Deposit.objects.filter(account_id__in=accounts).order_by("id"):
        deposits[deposit.account_id].append(deposit)
    paid: dict[int, list[PromptPaid]] = {i.id: [] for i in invoices}
    for prompt in prompts:
        paid[prompt.invoice_id].append(
            PromptPaid(prompt, deposits.get(prompt.account_id, []) if prompt.account_id else [])
        )
    return paid


def invoice_paid(invoice: Invoice) -> list[PromptPaid]:
    return invoices_paid([invoice])[invoice.id]


def invoice_statuses(names: Sequence[str]) -> list[str]:
    """Greenfield's status filter values (any case, BTCPay's older names too); the ones no
    status has are left out, as BTCPay does."""
    statuses = (STATUS_NAMES.get(name.strip().lower()) for name in names)
    return list(dict.fromkeys(s for s in statuses if s is not None))


def invoices_of_store(
    *,
    store: Store,
    order_ids: Sequence[str] = (),
    statuses: Sequence[str] = (),
    text: str = "",
    start: datetime | None = None,
    end: datetime | None = None,
    include_archived: bool = False,
    skip: int = 0,
    take: int | None = None,
) -> QuerySet[Invoice]:
    """The store's invoices as Greenfield lists them: newest first, archived ones only if
    asked, ``text`` matching the start of the id, the order id, the buyer's email or a
    deposit address (BTCPay's search terms)."""
    invoices = Invoice.objects.filter(store=store).select_related("store")
    if not include_archived:
        invoices = invoices.filter(archived=False)
    if order_ids:
        invoices = invoices.filter(order_id__in=list(order_ids))
    if statuses:
        wanted = invoice_statuses(statuses)
        invoices = invoices.filter(status__in=wanted) if wanted else invoices
    if start is not None:
        invoices = invoices.filter(created_at__gte=start)
    if end is not None:
        invoices = invoices.filter(created_at__lte=end)
    text = text.strip()[:TEXT_SEARCH_MAX]
    if text:
        addressed = PaymentPrompt.objects.filter(account__address__startswith=text).values(
            "invoice_id"
        )
        invoices = invoices.filter(
            Q(public_id__startswith=text)
            | Q(order_id__startswith=text)
            | Q(metadata__buyerEmail__startswith=text)
            | Q(id__in=addressed)
        )
    invoices = invoices.order_by("-created_at", "-id")
    if take is not None:
        return invoices[skip : skip + take]
    return invoices[skip:] if skip else invoices


def manual_marking(*, status: str, additional: str) -> list[str]:
    """``availableStatusesForManualMarking`` as BTCPay computes it (InvoiceState's
    CanMarkComplete, CanMarkInvalid), less the one move this engine refuses: a settled
    invoice has paid its store and cannot be made invalid (invoice_mark)."""
    marked = additional == AdditionalStatus.MARKED
    statuses = []
    if status in (
        InvoiceStatus.NEW,
        InvoiceStatus.PROCESSING,
        InvoiceStatus.EXPIRED,
        InvoiceStatus.INVALID,
    ) or (marked and status != InvoiceStatus.SETTLED):
        statuses.append(InvoiceStatus.SETTLED.value)
    if status in (InvoiceStatus.NEW, InvoiceStatus.PROCESSING, InvoiceStatus.EXPIRED) or (
        marked and status not in (InvoiceStatus.INVALID, InvoiceStatus.SETTLED)
    ):
        statuses.append(InvoiceStatus.INVALID.value)
    return statuses


def invoice_prompts(invoice: Invoice) -> list[PaymentPrompt]:
    """The invoice's prompts in the order the store lists its methods (they are made in
    that order), each with its deposit account."""
    return list(invoice.prompts.select_related("account").order_by("id"))


def prompt_figures(prompt: PaymentPrompt) -> PromptFigures:
    """What the prompt asks and what reached it, as the invoice's status rule reads them
    (invoices.services.status): every live deposit seen, and what was credited."""
    seen = payment(prompt).seen if prompt.account_id is not None else 0
    return PromptFigures(due=prompt.due, seen=seen, credited=prompt.received_amount)


def still_due(prompt: PaymentPrompt, figures: Sequence[PromptFigures]) -> int:
    """Base units of the prompt's coin still to pay: the share of the price that no
    payment seen, in any coin, covers yet, rounded up so the price is met. Paid in this
    coin alone, it is the prompt's due less what was seen."""
    left = 1 - share(figures)
    return math.ceil(left * prompt.due) if left > 0 else 0


def refund_of_store(*, store: Store, refund_id: str) -> Refund | None:
    return Refund.objects.filter(invoice__store=store, public_id=refund_id).first()


def refund_by_id(*, refund_id: str) -> Refund | None:
    """A refund by its public id (anyone holding it may see and claim it), with its
    invoice, store and payout."""
    return (
        Refund.objects.filter(public_id=refund_id)
        .select_related("invoice__store", "payout")
        .first()
    )


def balance_shares(*, owner_id: int, currency: str, prompt_id: int | None = None) -> dict[int, int]:
    """What each prompt (or the one ``prompt_id``) credited to its merchant's balance and
    is still in it (less the refunds and withdrawals taken through that prompt), by prompt
    id; positive only."""
    entries = LedgerEntry.objects.filter(
        currency=currency,
        account=f"merchant:{owner_id}",
        transaction__owner_kind=OwnerKind.PROMPT,
    )
    if prompt_id is not None:
        entries = entries.filter(transaction__owner_id=prompt_id)
    rows = entries.values("transaction__owner_id").annotate(d=Sum("debit"), c=Sum("credit"))
    shares = {
        int(row["transaction__owner_id"] or 0): int(row["d"] or 0) - int(row["c"] or 0)
        for row in rows
    }
    return {owner: held for owner, held in shares.items() if held > 0}


@dataclass(frozen=True)
class MerchantBalance:
    currency: str
    total: int  # base units in the balance
    withdrawable: int  # of it, the shares large enough to be paid on their own


def merchant_balances(*, owner_id: int) -> list[MerchantBalance]:
    """The merchant's balance in each coin that has one."""
    held = dict(
        LedgerBalance.objects.filter(account=f"merchant:{owner_id}", balance__gt=0).values_list(
            "currency", "balance"
        )
    )
    balances = []
    for c in COINS:
        if held.get(c.code):
            least = settings.ORDER_MIN_AMOUNT[c.code]
            shares = balance_shares(owner_id=owner_id, currency=c.code).values()
            withdrawable = sum(share for share in shares if share >= least)
            balances.append(MerchantBalance(c.code, held[c.code], withdrawable))
    return balances
