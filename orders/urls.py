from django.urls import path

from orders import api, vendors_api
from wallets.chains import COINS

urlpatterns = [
    path("payout-addresses", vendors_api.PayoutAddressListApi.as_view(), name="payout-addresses"),
    path(
        "payout-addresses/<str:currency>",
        vendors_api.PayoutAddressApi.as_view(),
        name="payout-address",
    ),
    path("orders", api.OrderListCreateApi.as_view(), name="orders"),
    path("orders/<int:order_id>", api.OrderDetailApi.as_view(), name="order"),
    path("orders/<int:order_id>/release", api.OrderReleaseApi.as_view(), name="order-release"),
    path("orders/<int:order_id>/refund", api.OrderRefundApi.as_view(), name="order-refund"),
    path("orders/<int:order_id>/dispute", api.OrderDisputeApi.as_view(), name="order-dispute"),
    path("orders/<int:order_id>/history", api.OrderHistoryApi.as_view(), name="order-history"),
    *(
        path(
            f"{coin.api_path}/accounts/<int:order_id>",
            api.OrderAccountApi.as_view(currency=coin.code),
            name=f"{coin.chain}-account",
        )
        for coin in COINS
    ),
]
