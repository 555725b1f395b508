"""The web pages: thin views that validate, call one service or selector, and render.

The swap page itself only renders: its script prices and creates the swap through the
JSON API (``/api/quotes``, ``/api/swaps``), so the page and the API share one path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from exchange.errors import ApplicationError
from exchange.models import ApiToken
from exchange.money import payment_uri
from exchange.services import api_token_create, api_token_revoke
from funding.models import FundingState
from funding.selectors import history_of
from orders import services
from orders.models import HELD_STATES, EscrowOrder, OrderState
from orders.selectors import (
    order_payment,
    orders_visible_to,
)
from staff.models import StaffAction
from staff.services.authorize import staff_may
from swaps.models import SwapOrder
from swaps.selectors import swap_amount_to, swap_visible_to
from web.forms import ApiTokenCreateForm, OrderActionForm, OrderCreateForm
from web.status import ORDER_STEPS, SWAP_STEPS, order_status, swap_status
from web.throttles import throttled

ORDER_LIST_LIMIT = 100


@dataclass(frozen=True)
class OrderAction:
    """A button of the order page and the service behind it."""

    name: str
    service: Callable[..., EscrowOrder]
    button: str
    question: str


ORDER_ACTIONS = {
    action.name: action
    for action in (
        OrderAction(
            "release",
            services.order_release,
            "Release to the vendor",
            "Release the escrowed payment to the vendor? This cannot be undone.",
        ),
        OrderAction(
            "refund",
            services.order_refund,
            "Refund the buyer",
            "Send the escrowed payment back to the buyer? This cannot be undone.",
        ),
        OrderAction(
            "dispute",
            services.order_dispute,
            "Open a dispute",
            "Stop the escrow and ask staff to decide?",
        ),
    )
}


def _swaps_open(request: HttpRequest) -> bool:
    return settings.SWAPS_ALLOW_ANONYMOUS or request.user.is_authenticated


def _swap_or_404(request: HttpRequest, public_id: UUID) -> SwapOrder:
    """The swap if the caller may see it, by the API's rule: the owner or staff for a swap
    made by a signed-in user; anyone holding the id of a swap made without an account."""
    swap = swap_visible_to(request.user, public_id)
    if swap is None:
        raise Http404
    return swap


def _order_or_404(request: HttpRequest, order_id: int) -> EscrowOrder:
    """The order if the caller is its buyer, its vendor or staff; 404 otherwise."""
    return get_object_or_404(orders_visible_to(request.user), id=order_id)


# --- swaps -----------------------------------------------------------------------------


@require_GET
def swap_page(request: HttpRequest) -> HttpResponse:
    """Pick a direction and an amount, see the quote, give the addresses, create the swap."""
    if not _swaps_open(request):
        return redirect_to_login(request.get_full_path())
    return render(request, "web/swap.html")


@require_GET
def swap_checkout(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Where to pay a swap, and its live status."""
    if not _swaps_open(request):
        return redirect_to_login(request.get_full_path())
    swap = _swap_or_404(request, public_id)
    return render(
        request,
        "web/checkout.html",
        {
            "swap": swap,
            "title": f"Swap {swap.from_currency} → {swap.to_currency}",
            "pay_amount": swap.amount_from,
            "pay_currency": swap.from_currency,
            "receive_amount": swap_amount_to(swap),
            "address": swap.account.address,
            "uri": payment_uri(
                currency=swap.from_currency, address=swap.account.address, amount=swap.amount_from
            ),
            "status": swap_status(swap),
            "steps": SWAP_STEPS,
            "status_url": reverse("web:swap-status", args=[swap.public_id]),
        },
    )


@never_cache
@require_GET
def swap_status_json(request: HttpRequest, public_id: UUID) -> JsonResponse:
    """The swap's live status (polled by its checkout page)."""
    if not _swaps_open(request):
        raise Http404
    return JsonResponse(swap_status(_swap_or_404(request, public_id)))


# --- escrow orders ---------------------------------------------------------------------


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    """The signed-in user's orders: those they buy and those they sell."""
    visible = orders_visible_to(request.user).order_by("-id")
    return render(
        request,
        "web/order_list.html",
        {
            "bought": visible.filter(buyer=request.user)[:ORDER_LIST_LIMIT],
            "sold": visible.filter(vendor=request.user)[:ORDER_LIST_LIMIT],
            "limit": ORDER_LIST_LIMIT,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@throttled
def order_new(request: HttpRequest) -> HttpResponse:
    """Create an escrow order (the signed-in user buys), then go and pay it."""
    form = OrderCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = services.order_create(
                buyer=request.user,
                vendor_username=data["vendor"],
                currency=data["currency"],
                amount=data["amount_base_units"],
                description=data["description"],
                refund_address=data["refund_address"],
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return redirect("web:order-pay", order_id=order.id)
    status = 400 if request.method == "POST" else 200
    return render(request, "web/order_new.html", {"form": form}, status=status)


def _order_page(
    request: HttpRequest,
    order: EscrowOrder,
    *,
    forms: dict[str, OrderActionForm] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    is_buyer, is_vendor = order.buyer_id == user.pk, order.vendor_id == user.pk
    held = order.state in HELD_STATES
    offered = {
        "release": (is_buyer or staff_may(user, StaffAction.RELEASE)) and held,
        "refund": (is_vendor or staff_may(user, StaffAction.REFUND)) and held,
        "dispute": (is_buyer or is_vendor) and order.state == OrderState.ESCROWED,
    }
    forms, errors = forms or {}, errors or {}
    actions = [
        {
            "action": action,
            "form": forms.get(name) or OrderActionForm(),
            "error": errors.get(name, ""),
        }
        for name, action in ORDER_ACTIONS.items()
        if offered[name] or name in forms
    ]
    return render(
        request,
        "web/order_detail.html",
        {
            "order": order,
            "role": "buyer" if is_buyer else "vendor" if is_vendor else "staff",
            "status": order_status(order),
            "steps": ORDER_STEPS,
            "status_url": reverse("web:order-status", args=[order.id]),
            "payment": order_payment(order),
            "history": history_of(order),
            "actions": actions,
            "payable": order.state in (FundingState.AWAITING_DEPOSIT, FundingState.CONFIRMING),
        },
        status=status,
    )


@login_required
@require_GET
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    """One order: its state, deposits, payouts, history and the actions open to the user."""
    return _order_page(request, _order_or_404(request, order_id))


@login_required
@require_POST
@throttled
def order_action(request: HttpRequest, order_id: int, action: str) -> HttpResponse:
    """Release, refund or dispute, through the same service as the API. Without the
    confirmation the form asks for it first; a refusal is shown beside the form."""
    order = _order_or_404(request, order_id)
    chosen = ORDER_ACTIONS[action]
    form = OrderActionForm(request.POST)
    if not form.is_valid():
        return _order_page(request, order, forms={action: form}, status=400)
    if not form.cleaned_data["confirmed"]:
        return render(
            request,
            "web/order_confirm.html",
            {"order": order, "action": chosen, "reason": form.cleaned_data["reason"]},
        )
    try:
        chosen.service(order_id=order.id, actor=request.user, reason=form.cleaned_data["reason"])
    except ApplicationError as error:
        order = _order_or_404(request, order_id)
        return _order_page(
            request,
            order,
            forms={action: form},
            errors={action: error.message},
            status=error.status_code,
        )
    messages.success(request, f"Done: {chosen.button.lower()}.")
    return redirect("web:order", order_id=order.id)


@login_required
@require_GET
def order_checkout(request: HttpRequest, order_id: int) -> HttpResponse:
    """Where the buyer pays an order, and its live status."""
    order = _order_or_404(request, order_id)
    return render(
        request,
        "web/checkout.html",
        {
            "order": order,
            "title": f"Order {order.id}",
            "pay_amount": order.amount,
            "pay_currency": order.currency,
            "address": order.account.address,
            "uri": payment_uri(
                currency=order.currency, address=order.account.address, amount=order.amount
            ),
            "status": order_status(order),
            "steps": ORDER_STEPS,
            "status_url": reverse("web:order-status", args=[order.id]),
        },
    )


@never_cache
@login_required
@require_GET
def order_status_json(request: HttpRequest, order_id: int) -> JsonResponse:
    """The order's live status (polled by its checkout and detail pages)."""
    return JsonResponse(order_status(_order_or_404(request, order_id)))


# --- API tokens ------------------------------------------------------------------------


def _token_page(
    request: HttpRequest,
    *,
    form: ApiTokenCreateForm | None = None,
    created: ApiToken | None = None,
    secret: str = "",
    status: int = 200,
) -> HttpResponse:
    tokens = ApiToken.objects.filter(user=request.user).order_by("-created", "-id")
    return render(
        request,
        "web/tokens.html",
        {
            "tokens": tokens,
            "form": form or ApiTokenCreateForm(),
            "created": created,
            "secret": secret,
            "header_prefix": "Token",
        },
        status=status,
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@throttled
def token_list(request: HttpRequest) -> HttpResponse:
    """The user's API tokens, and a form for a new one. The new secret is on this one
    answer only (not in a redirect, a message or the session): it is never stored."""
    if request.method == "GET":
        return _token_page(request)
    form = ApiTokenCreateForm(request.POST)
    if form.is_valid():
        try:
            token, secret = api_token_create(user=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return _token_page(request, created=token, secret=secret)
    return _token_page(request, form=form, status=400)


@login_required
@require_POST
@throttled
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of the user's tokens at once; another user's is not found."""
    try:
        api_token_revoke(user=request.user, token_id=token_id)
    except ApplicationError as error:
        raise Http404 from error
    messages.success(request, "Token revoked: it no longer works.")
    return redirect("web:tokens")
