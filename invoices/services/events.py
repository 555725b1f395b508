"""Recording what happened to an invoice, once per kind of happening where Greenfield
sends it once."""

from __future__ import annotations

from typing import Any

from invoices.models import Invoice, InvoiceEvent
from invoices.signals import invoice_event_recorded


def invoice_event(invoice: Invoice, type: str, **data: Any) -> InvoiceEvent:
    """Record the event in the caller's transaction and announce it."""
    event = InvoiceEvent.objects.create(invoice=invoice, type=type, data=data)
    invoice_event_recorded.send(sender=Invoice, invoice=invoice, event=event)
    return event
