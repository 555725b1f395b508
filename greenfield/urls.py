"""The Greenfield routes, under /api/v1/ (mounted at the site root by exchange/urls.py).

Each route answers with and without a trailing slash and never redirects: a redirect
loses a POST's body, and Greenfield clients write both forms. ``endpoint`` builds the
pattern; invoice and webhook routes are added to ``urlpatterns`` the same way.
exchange/urls.py answers every other /api/v1/ path with Greenfield's 404.
"""

from __future__ import annotations

import re
from typing import Any

from django.urls import URLPattern, re_path

from greenfield import invoices as invoice_api
from greenfield import refunds, views
from greenfield import webhooks as store_webhooks

app_name = "greenfield"


def endpoint(route: str, view: Any, *, name: str) -> URLPattern:
    """``"stores/<store_id>"`` → ``^api/v1/stores/(?P<store_id>[^/]+)/?$``."""
    pattern = re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", route)
    return re_path(rf"^api/v1/{pattern}/?$", view, name=name)


urlpatterns = [
    endpoint("server/info", views.ServerInfoApi.as_view(), name="server-info"),
    endpoint("health", views.HealthApi.as_view(), name="health"),
    endpoint("api-keys/current", views.CurrentApiKeyApi.as_view(), name="api-key-current"),
    endpoint("stores", views.StoreListApi.as_view(), name="stores"),
    endpoint("stores/<store_id>", views.StoreDetailApi.as_view(), name="store"),
    endpoint(
        "stores/<store_id>/payment-methods",
        views.StorePaymentMethodsApi.as_view(),
        name="store-payment-methods",
    ),
]

# --- invoices (greenfield/invoices.py): each route in the store's form and BTCPay's
# store-less one, where the store is the invoice's.
INVOICE = "invoices/<invoice_id>"
INVOICE_ROUTES = [
    ("", invoice_api.InvoiceDetailApi, "invoice"),
    ("/status", invoice_api.InvoiceStatusApi, "invoice-status"),
    ("/unarchive", invoice_api.InvoiceUnarchiveApi, "invoice-unarchive"),
    ("/payment-methods", invoice_api.InvoicePaymentMethodsApi, "invoice-payment-methods"),
    (
        "/payment-methods/<payment_method>/activate",
        invoice_api.InvoicePaymentMethodActivateApi,
        "invoice-payment-method-activate",
    ),
    ("/refund", refunds.InvoiceRefundApi, "invoice-refund"),
]
urlpatterns += [
    endpoint("stores/<store_id>/invoices", invoice_api.InvoiceListApi.as_view(), name="invoices"),
    *(
        endpoint(f"stores/<store_id>/{INVOICE}{tail}", view.as_view(), name=name)
        for tail, view, name in INVOICE_ROUTES
    ),
    *(
        endpoint(f"{INVOICE}{tail}", view.as_view(), name=f"{name}-any-store")
        for tail, view, name in INVOICE_ROUTES
    ),
]

urlpatterns += [
    endpoint(
        "pull-payments/<pull_payment_id>", refunds.PullPaymentApi.as_view(), name="pull-payment"
    ),
    endpoint(
        "stores/<store_id>/pull-payments/<pull_payment_id>",
        refunds.StorePullPaymentApi.as_view(),
        name="store-pull-payment",
    ),
]

# --- a store's webhooks (greenfield/webhooks.py) ----------------------------------------
_HOOK = "stores/<store_id>/webhooks/<webhook_id>"
urlpatterns += [
    endpoint(
        "stores/<store_id>/webhooks",
        store_webhooks.StoreWebhookListApi.as_view(),
        name="store-webhooks",
    ),
    endpoint(_HOOK, store_webhooks.StoreWebhookDetailApi.as_view(), name="store-webhook"),
    endpoint(
        f"{_HOOK}/deliveries",
        store_webhooks.StoreWebhookDeliveriesApi.as_view(),
        name="store-webhook-deliveries",
    ),
    endpoint(
        f"{_HOOK}/deliveries/<delivery_id>",
        store_webhooks.StoreWebhookDeliveryApi.as_view(),
        name="store-webhook-delivery",
    ),
    endpoint(
        f"{_HOOK}/deliveries/<delivery_id>/request",
        store_webhooks.StoreWebhookDeliveryRequestApi.as_view(),
        name="store-webhook-delivery-request",
    ),
    endpoint(
        f"{_HOOK}/deliveries/<delivery_id>/redeliver",
        store_webhooks.StoreWebhookRedeliverApi.as_view(),
        name="store-webhook-redeliver",
    ),
]
