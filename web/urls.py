"""URLs of the web pages (mounted at the site root, after the API and the admin)."""

from django.urls import path

from web import invoices, merchant, refunds, views

app_name = "web"

urlpatterns = [
    path("", views.swap_page, name="swap"),
    path("swaps/<uuid:public_id>/", views.swap_checkout, name="swap-checkout"),
    path("swaps/<uuid:public_id>/status.json", views.swap_status_json, name="swap-status"),
    # An invoice's checkout, where Greenfield clients send the customer (checkoutLink).
    path("i/<str:invoice_id>", invoices.invoice_checkout, name="invoice"),
    path("i/<str:invoice_id>/status", invoices.invoice_status_json, name="invoice-status"),
    path("i/<str:invoice_id>/<str:method>", invoices.invoice_method, name="invoice-method"),
    # A refund's claim page, where Greenfield clients send the customer (viewLink).
    path("refunds/<str:refund_id>", refunds.refund_page, name="refund"),
    path("account/tokens/", views.token_list, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
    path("account/stores/", merchant.store_list, name="stores"),
    path("account/stores/keys/", merchant.key_create, name="store-key-create"),
    path("account/stores/keys/<int:key_id>/revoke/", merchant.key_revoke, name="store-key-revoke"),
    path(
        "account/stores/withdraw/<str:currency>/",
        merchant.balance_withdrawal,
        name="balance-withdraw",
    ),
    path("orders/", views.order_list, name="orders"),
    path("orders/new/", views.order_new, name="order-new"),
    path("orders/<int:order_id>/", views.order_detail, name="order"),
    path("orders/<int:order_id>/pay/", views.order_checkout, name="order-pay"),
    path("orders/<int:order_id>/status.json", views.order_status_json, name="order-status"),
    path(
        "orders/<int:order_id>/release/",
        views.order_action,
        {"action": "release"},
        name="order-release",
    ),
    path(
        "orders/<int:order_id>/refund/",
        views.order_action,
        {"action": "refund"},
        name="order-refund",
    ),
    path(
        "orders/<int:order_id>/dispute/",
        views.order_action,
        {"action": "dispute"},
        name="order-dispute",
    ),
]
