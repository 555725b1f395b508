"""A refund's claim page, ``/refunds/{refundId}`` (Greenfield's pull payment ``viewLink``):
anonymous, the refund id is the capability, as the invoice id is the checkout's. The
customer sees what the store refunds and gives their own address once; the page then
shows where it was paid, or that it waits for staff approval. An id that is not a
refund's is a plain 404. Nothing here calls a node."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from exchange.errors import ApplicationError
from invoices.models import Refund
from invoices.selectors import refund_by_id
from invoices.services import refund_claim
from wallets.chains.registry import coin
from web.throttles import throttled


def _page(
    request: HttpRequest, refund: Refund, *, error: str = "", address: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request,
        "web/refund.html",
        {
            "refund": refund,
            "store": refund.invoice.store,
            "coin_name": coin(refund.currency).name,
            "payout": refund.payout,
            "error": error,
            "address": address,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@throttled
def refund_page(request: HttpRequest, refund_id: str) -> HttpResponse:
    """The refund; a POST claims it to the address given (a refusal is shown here)."""
    refund = refund_by_id(refund_id=refund_id)
    if refund is None:
        raise Http404
    if request.method == "POST":
        address = request.POST.get("address", "")
        try:
            refund_claim(public_id=refund.public_id, address=address)
        except ApplicationError as refused:
            refund = refund_by_id(refund_id=refund_id) or refund
            return _page(
                request, refund, error=refused.message, address=address, status=refused.status_code
            )
        return redirect("web:refund", refund_id=refund.public_id)
    return _page(request, refund)
