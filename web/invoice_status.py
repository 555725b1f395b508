"""The live status of an invoice, as its checkout page (``/i/{invoiceId}``) shows it and
polls it: Greenfield's status (New, Processing, Settled, Expired, Invalid, and paid
partially) in the customer's words, with the keys every status has (web.status.
status_fields) so the same status box and script show it.

Read from the rows only, as the invoice's workers left them: nothing here writes or calls
a node. The store's own payouts are not the customer's to see: ``payouts`` is empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django.utils import timezone

from exchange.money import payment_uri
from funding.selectors import payment
from invoices.models import AdditionalStatus, Invoice, InvoiceStatus, PaymentPrompt
from invoices.selectors import prompt_figures, still_due
from invoices.services.status import share
from web.status import Words, confirmations_needed, confirming, money, seconds_left, status_fields

INVOICE_STEPS = ("Payment seen", "Paid in full", "Settled")
# Nothing the customer does changes these any more: the page stops polling.
FINAL_STATUSES = frozenset({InvoiceStatus.SETTLED, InvoiceStatus.INVALID})


def shop_url(url: str) -> str:
    """The shop's ``redirect_url`` if it is a web address (http or https, with a host),
    else "": nothing else becomes a link or a redirect on the page."""
    parts = urlsplit(url or "")
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


@dataclass(frozen=True)
class Paying:
    """The chosen prompt as the page shows it: what it asks, what reached it, and what is
    still due in its coin (after every payment seen, in any coin)."""

    prompt: PaymentPrompt
    seen: int
    confirmations: int  # the least confirmed live deposit's, at most ``needed``
    needed: int
    due: int  # still due, base units

    @property
    def address(self) -> str:
        return self.prompt.account.address if self.prompt.account else ""

    @property
    def uri(self) -> str:
        """The payment URI of what is still due (empty once nothing is)."""
        if not self.address or not self.due:
            return ""
        return payment_uri(currency=self.prompt.currency, address=self.address, amount=self.due)


def paying(prompt: PaymentPrompt, prompts: list[PaymentPrompt]) -> Paying:
    paid = payment(prompt) if prompt.account_id is not None else None
    needed = confirmations_needed(prompt.currency, prompt.confirmations_required)
    return Paying(
        prompt=prompt,
        seen=paid.seen if paid else 0,
        confirmations=min(paid.confirmations, needed) if paid else 0,
        needed=needed,
        due=still_due(prompt, [prompt_figures(p) for p in prompts]),
    )


def _words(invoice: Invoice, chosen: Paying | None, covered: bool, overdue: bool) -> Words:
    store = invoice.store.name
    status, additional = invoice.status, invoice.additional_status
    partial = additional == AdditionalStatus.PAID_PARTIAL
    if status == InvoiceStatus.SETTLED:
        detail = "Paid in full and confirmed. Thank you!"
        if additional == AdditionalStatus.PAID_OVER:
            detail += f" More than the price was paid: {store} decides about the difference."
        return ("Settled", detail, "done", 3)
    if status == InvoiceStatus.INVALID:
        detail = f"This invoice is invalid: do not send anything to it. Contact {store}."
        return ("Invalid", detail, "error", 0)
    if status == InvoiceStatus.EXPIRED and additional == AdditionalStatus.PAID_LATE:
        detail = f"The payment arrived after the invoice expired: {store} decides about it."
        return ("Paid late", detail, "warning", 2)
    if status == InvoiceStatus.EXPIRED or overdue:
        detail = "The time to pay has passed: do not send anything to this invoice."
        if partial or (chosen and chosen.seen):
            detail += f" Contact {store} about what was paid."
        return ("Expired", detail, "error", 1 if partial else 0)
    if status == InvoiceStatus.PROCESSING or covered:
        detail = "Paid in full; waiting for the network to confirm the payment."
        if chosen and chosen.seen:
            detail = "Paid in full. " + confirming(chosen.confirmations, chosen.needed)[1]
        return ("Processing", detail, "progress", 2)
    if chosen and chosen.seen:
        coin = chosen.prompt.currency
        detail = f"{money(chosen.seen, coin)} received; {money(chosen.due, coin)} still due."
        return ("Paid partially", detail, "warning", 1)
    if partial:
        return (
            "Paid partially",
            "Part of the price was paid; the rest is still due.",
            "warning",
            1,
        )
    if chosen is None:
        return ("Waiting for payment", "Choose how to pay.", "waiting", 0)
    due = money(chosen.due, chosen.prompt.currency)
    return ("Waiting for payment", f"Send exactly {due} to the address.", "waiting", 0)


def invoice_status(
    invoice: Invoice,
    prompts: list[PaymentPrompt],
    chosen: Paying | None = None,
    *,
    now: datetime | None = None,
) -> dict:
    """The status of an invoice (``state`` is its Greenfield status) in ``chosen``'s coin,
    if one is chosen, with the keys of ``status_fields`` and: ``additional_status``,
    ``currency``, ``due`` (still due in that coin, base units), ``uri`` (its payment URI
    while it can be paid), ``return_url`` (the way back to the shop once settled) and
    ``redirect_automatically``."""
    now = now or timezone.now()
    covered = share([prompt_figures(p) for p in prompts]) >= 1
    new = invoice.status == InvoiceStatus.NEW
    # Past the deadline, unpaid, before the sweep has expired it.
    overdue = new and not covered and now >= invoice.expires_at
    closed = not new or covered or overdue
    payable = bool(not closed and chosen and chosen.address and chosen.due)
    currency = chosen.prompt.currency if chosen else prompts[0].currency
    settled = invoice.status == InvoiceStatus.SETTLED
    return status_fields(
        kind="invoice",
        state=invoice.status,
        words=_words(invoice, chosen, covered, overdue),
        confirmations=chosen.confirmations if chosen else 0,
        needed=chosen.needed if chosen else 0,
        seen=chosen.seen if chosen else 0,
        seen_currency=currency,
        additional_status=invoice.additional_status,
        currency=chosen.prompt.currency if chosen else None,
        due=str(chosen.due) if chosen else None,
        due_display=money(chosen.due, currency) if chosen else None,
        uri=chosen.uri if payable and chosen else "",
        return_url=shop_url(invoice.redirect_url) if settled else "",
        redirect_automatically=invoice.redirect_automatically,
        expires_in=None if closed else seconds_left(invoice.expires_at, now),
        expired=overdue or invoice.status == InvoiceStatus.EXPIRED,
        final=invoice.status in FINAL_STATUSES,
        payable=payable,
        closed=closed,
        payouts=[],
    )
