"""Sent in the transaction that records an invoice event (``InvoiceEvent``): its receivers
(the store's webhooks) act on commit."""

from django.dispatch import Signal

# Arguments: invoice, event (the InvoiceEvent row).
invoice_event_recorded = Signal()
