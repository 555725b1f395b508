"""Reads of an invoice: its prompts, what reached each, and what is still due in each coin.
Nothing here writes or calls a node."""

from __future__ import annotations

import math
from collections.abc import Sequence

from funding.selectors import payment
from invoices.models import Invoice, PaymentPrompt
from invoices.services.status import PromptFigures, share


def invoice_by_public_id(public_id: str) -> Invoice | None:
    """The invoice of this id (its store with it), or None."""
    return Invoice.objects.select_related("store").filter(public_id=public_id).first()


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
