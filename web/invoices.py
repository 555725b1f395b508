"""An invoice's checkout page, ``/i/{invoiceId}``, as BTCPay has it: anonymous, the
invoice id is the capability. The customer picks a coin (a POST, which gives a lazy
prompt its deposit address once), pays what is still due to the address shown and
watches the status, polled from ``/i/{invoiceId}/status``; a settled invoice leads back
to the shop. An id that is not an invoice's is a plain 404, whatever its form.

Nothing here calls a node: the status is read from the rows the workers keep, and a
prompt is activated from the pool of addresses made in advance.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from exchange.errors import ApplicationError
from invoices.models import Invoice, InvoiceStatus, PaymentPrompt
from invoices.selectors import invoice_by_id, invoice_prompts
from invoices.services import method_id, prompt_activate
from wallets.chains.registry import coin
from web.invoice_status import INVOICE_STEPS, Paying, invoice_status, paying, shop_url
from web.throttles import throttled

# Seconds the settled page shows its thanks before it takes the customer back to the shop.
REDIRECT_SECONDS = 3


def _invoice_or_404(invoice_id: str) -> Invoice:
    invoice = invoice_by_id(invoice_id=invoice_id)
    if invoice is None:
        raise Http404
    return invoice


def _prompt_or_404(prompts: list[PaymentPrompt], method: str) -> PaymentPrompt:
    """The prompt of ``method`` (``BTC``, ``BTC-CHAIN``, ``BTC_CHAIN``, any case)."""
    code = method_id(method).removesuffix("-CHAIN")
    for prompt in prompts:
        if prompt.currency == code:
            return prompt
    raise Http404


def _chosen(prompts: list[PaymentPrompt], method: str) -> PaymentPrompt | None:
    """The prompt the URL names; the only one when the invoice has one; else none yet."""
    if method:
        return _prompt_or_404(prompts, method)
    return prompts[0] if len(prompts) == 1 else None


def _status_url(invoice: Invoice, chosen: PaymentPrompt | None) -> str:
    url = reverse("web:invoice-status", args=[invoice.public_id])
    return f"{url}?method={chosen.currency}" if chosen else url


def _page(
    request: HttpRequest,
    invoice: Invoice,
    prompts: list[PaymentPrompt],
    chosen: PaymentPrompt | None,
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    pay: Paying | None = paying(chosen, prompts) if chosen else None
    state = invoice_status(invoice, prompts, pay)
    return_url = shop_url(invoice.redirect_url)
    choices = [
        {
            "code": prompt.currency,
            "name": coin(prompt.currency).name,
            "chosen": chosen is not None and prompt.id == chosen.id,
        }
        for prompt in prompts
    ]
    return render(
        request,
        "web/invoice.html",
        {
            "invoice": invoice,
            "store": invoice.store,
            "order_id": invoice.order_id,
            "chosen": chosen,
            "paying": pay,
            # Offered while the invoice can be paid, or to activate the one it has.
            "choices": choices if not state["closed"] else [],
            "pay_amount": pay.due if pay else 0,
            "pay_currency": chosen.currency if chosen else "",
            "pay_label": "Still due" if pay and pay.seen else "Amount",
            "address": pay.address if pay else "",
            "uri": pay.uri if pay else "",
            "status": state,
            "steps": INVOICE_STEPS,
            "status_url": _status_url(invoice, chosen),
            "return_url": return_url,
            "return_to": invoice.store.name,
            "redirect_now": bool(
                return_url
                and invoice.redirect_automatically
                and invoice.status == InvoiceStatus.SETTLED
            ),
            "redirect_seconds": REDIRECT_SECONDS,
            "error": error,
        },
        status=status,
    )


@require_GET
def invoice_checkout(request: HttpRequest, invoice_id: str) -> HttpResponse:
    """The invoice: its store and price, the coins to pay it in, and its status."""
    invoice = _invoice_or_404(invoice_id)
    prompts = invoice_prompts(invoice)
    return _page(request, invoice, prompts, _chosen(prompts, ""))


@require_http_methods(["GET", "POST"])
@throttled
def invoice_method(request: HttpRequest, invoice_id: str, method: str) -> HttpResponse:
    """The invoice in one coin: what is due, where to pay it, the QR code of its payment
    URI and the countdown. A POST chooses the coin: it activates a lazy prompt (once; a
    second POST changes nothing) and comes back here; a refusal is shown on the page."""
    invoice = _invoice_or_404(invoice_id)
    prompts = invoice_prompts(invoice)
    chosen = _prompt_or_404(prompts, method)
    if request.method == "POST":
        try:
            prompt_activate(prompt=chosen)
        except ApplicationError as refused:
            return _page(
                request,
                invoice,
                invoice_prompts(invoice),
                chosen,
                error=refused.message,
                status=refused.status_code,
            )
        return redirect("web:invoice-method", invoice_id=invoice.public_id, method=chosen.currency)
    return _page(request, invoice, prompts, chosen)


@never_cache
@require_GET
def invoice_status_json(request: HttpRequest, invoice_id: str) -> JsonResponse:
    """The invoice's live status (polled by its page), in the coin ``?method=`` names."""
    invoice = _invoice_or_404(invoice_id)
    prompts = invoice_prompts(invoice)
    method = request.GET.get("method", "")
    chosen = _prompt_or_404(prompts, method) if method else None
    return JsonResponse(
        invoice_status(invoice, prompts, paying(chosen, prompts) if chosen else None)
    )
