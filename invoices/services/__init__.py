"""Invoice actions: making one (``create``), its payments and settlement (``payments``),
its refunds (``refunds``), and the withdrawal of a merchant's balance (``balances``)."""

from invoices.services.balances import balance_withdraw
from invoices.services.create import invoice_create, method_id, prompt_activate
from invoices.services.edit import (
    invoice_archive_set,
    invoice_metadata_update,
    invoice_method_activate,
)
from invoices.services.payments import (
    invoice_mark,
    invoice_refresh,
    invoices_expire,
    prompt_advance,
    prompt_apply_deposits,
)
from invoices.services.refunds import RefundAsk, refund_cancel, refund_claim, refund_create

__all__ = [
    "balance_withdraw",
    "invoice_archive_set",
    "invoice_metadata_update",
    "invoice_method_activate",
    "invoice_create",
    "invoice_mark",
    "invoice_refresh",
    "invoices_expire",
    "method_id",
    "prompt_activate",
    "prompt_advance",
    "prompt_apply_deposits",
    "refund_cancel",
    "refund_claim",
    "refund_create",
    "RefundAsk",
]
