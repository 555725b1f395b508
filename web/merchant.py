"""The merchant's page: their stores, the Greenfield API keys shops use to reach them, and
the balance their stores settle to, withdrawn to their payout address.

Thin views, as the others: validate, call one service of ``stores``, render. A new key is
on the one answer that made it (not in a redirect, a message or the session): only its
digest is kept.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from exchange.errors import ApplicationError
from invoices.selectors import merchant_balances
from invoices.services import balance_withdraw
from stores.models import ApiKey
from stores.selectors import api_keys_of, stores_of
from stores.services import api_key_create, api_key_revoke, store_create
from web.forms import ApiKeyCreateForm, StoreCreateForm
from web.throttles import throttled


def _page(
    request: HttpRequest,
    *,
    store_form: StoreCreateForm | None = None,
    key_form: ApiKeyCreateForm | None = None,
    created: ApiKey | None = None,
    plaintext: str = "",
    status: int = 200,
) -> HttpResponse:
    stores = list(stores_of(owner=request.user))
    return render(
        request,
        "web/stores.html",
        {
            "stores": stores,
            "keys": api_keys_of(owner=request.user),
            "store_form": store_form or StoreCreateForm(),
            "key_form": key_form or ApiKeyCreateForm(stores=stores),
            "created": created,
            "plaintext": plaintext,
            "api_base": request.build_absolute_uri("/"),
            "balances": merchant_balances(owner_id=request.user.pk),
        },
        status=status,
    )


def _refusal(form, error: ApplicationError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@throttled
def store_list(request: HttpRequest) -> HttpResponse:
    """The merchant's stores and keys; a POST makes a store."""
    if request.method == "GET":
        return _page(request)
    form = StoreCreateForm(request.POST)
    if form.is_valid():
        try:
            store = store_create(owner=request.user, **form.cleaned_data)
        except ApplicationError as error:
            _refusal(form, error)
        else:
            messages.success(request, f"Store “{store.name}” created: its id is {store.public_id}.")
            return redirect("web:stores")
    return _page(request, store_form=form, status=400)


@never_cache
@login_required
@require_POST
@throttled
def key_create(request: HttpRequest) -> HttpResponse:
    """Make a key; it is shown on this answer only."""
    form = ApiKeyCreateForm(request.POST, stores=list(stores_of(owner=request.user)))
    if form.is_valid():
        try:
            key, plaintext = api_key_create(
                owner=request.user,
                label=form.cleaned_data["label"],
                permissions=form.permissions(),
            )
        except ApplicationError as error:
            _refusal(form, error)
        else:
            return _page(request, created=key, plaintext=plaintext)
    return _page(request, key_form=form, status=400)


@login_required
@require_POST
@throttled
def key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    """Revoke one of the merchant's keys at once; another user's is not found."""
    try:
        api_key_revoke(owner=request.user, key_id=key_id)
    except ApplicationError as error:
        raise Http404 from error
    messages.success(request, "API key revoked: it no longer works.")
    return redirect("web:stores")


@login_required
@require_POST
@throttled
def balance_withdrawal(request: HttpRequest, currency: str) -> HttpResponse:
    """Withdraw the merchant's balance in one coin to their payout address."""
    try:
        withdrawal = balance_withdraw(owner=request.user, currency=currency)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"Withdrawing {withdrawal.amount} base units of {withdrawal.currency} to"
            f" {withdrawal.address} in {withdrawal.payouts} payout(s).",
        )
    return redirect("web:stores")
