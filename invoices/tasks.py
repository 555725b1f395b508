"""Thin tasks of invoices: ids in, one service call. All are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from exchange.celery import DATABASE_TRANSIENT, TRANSACTIONS
from funding.models import ADVANCE, APPLY_DEPOSITS
from funding.tasks import owner_step, owner_sweep
from invoices import services
from invoices.models import PaymentPrompt
from wallets.locks import LockTimeout

prompt_apply_deposits_task = owner_step(
    PaymentPrompt.task(APPLY_DEPOSITS),
    lambda prompt_id: services.prompt_apply_deposits(prompt_id=prompt_id),
)
prompt_advance_task = owner_step(
    PaymentPrompt.task(ADVANCE), lambda prompt_id: services.prompt_advance(prompt_id=prompt_id)
)
invoices_expire_task = owner_sweep("invoices.expire", services.invoices_expire)


@shared_task(
    name="invoices.refresh", autoretry_for=(LockTimeout, *DATABASE_TRANSIENT), **TRANSACTIONS
)
def invoice_refresh_task(invoice_id: int) -> str:
    return services.invoice_refresh(invoice_id=invoice_id).status
