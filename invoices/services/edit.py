"""What a store changes on an invoice after it is made: its metadata (kept as given, the
order id read from it again), whether it is archived, and a lazy payment method
activated when the customer picks it."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from exchange.errors import ApplicationError
from invoices.models import Invoice, PaymentPrompt
from invoices.services.create import method_id, prompt_activate


def invoice_metadata_update(*, invoice_id: int, metadata: dict[str, Any]) -> Invoice:
    """Replace the invoice's metadata, as Greenfield's update does."""
    if not isinstance(metadata, dict):
        raise ApplicationError("must be a JSON object", field="metadata")
    Invoice.objects.filter(id=invoice_id).update(
        metadata=metadata,
        order_id=str(metadata.get("orderId") or "")[:100],
        updated_at=timezone.now(),
    )
    return Invoice.objects.select_related("store").get(id=invoice_id)


def invoice_archive_set(*, invoice_id: int, archived: bool) -> bool:
    """Archive the invoice (or bring it back); False if it already was so."""
    changed = (
        Invoice.objects.filter(id=invoice_id)
        .exclude(archived=archived)
        .update(archived=archived, updated_at=timezone.now())
    )
    return bool(changed)


def invoice_method_activate(*, invoice_id: int, payment_method: str) -> PaymentPrompt:
    """Give the invoice's prompt of ``payment_method`` (any of its names) its deposit
    account, under the prompt's lock so two calls at once still give one; a prompt already
    active is left as it is."""
    code = method_id(payment_method).split("-", 1)[0]
    with transaction.atomic():
        prompt = (
            PaymentPrompt.objects.select_for_update()
            .select_related("invoice")
            .filter(invoice_id=invoice_id, currency=code)
            .first()
        )
        if prompt is None:
            raise ApplicationError(
                f"the invoice has no payment method {payment_method}", field="paymentMethod"
            )
        return prompt_activate(prompt=prompt)
