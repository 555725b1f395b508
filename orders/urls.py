from django.urls import path

from orders import api

urlpatterns = [
    path("orders", api.OrderListCreateApi.as_view(), name="orders"),
    path("orders/<int:order_id>", api.OrderDetailApi.as_view(), name="order"),
    path("orders/<int:order_id>/release", api.OrderReleaseApi.as_view(), name="order-release"),
    path("orders/<int:order_id>/refund", api.OrderRefundApi.as_view(), name="order-refund"),
    path("orders/<int:order_id>/dispute", api.OrderDisputeApi.as_view(), name="order-dispute"),
    path("orders/<int:order_id>/history", api.OrderHistoryApi.as_view(), name="order-history"),
    path(
        "bitcoin/accounts/<int:order_id>",
        api.OrderAccountApi.as_view(currency="BTC"),
        name="bitcoin-account",
    ),
    path(
        "monero-account/accounts/<int:order_id>",
        api.OrderAccountApi.as_view(currency="XMR"),
        name="monero-account",
    ),
]

from orders import swaps_api  # noqa: E402

urlpatterns += [
    path("swaps", swaps_api.SwapCreateApi.as_view(), name="swaps"),
    path("swaps/<uuid:public_id>", swaps_api.SwapDetailApi.as_view(), name="swap"),
    path("swaps/<uuid:public_id>/accept", swaps_api.SwapAcceptApi.as_view(), name="swap-accept"),
    path("swaps/<uuid:public_id>/refund", swaps_api.SwapRefundApi.as_view(), name="swap-refund"),
]
