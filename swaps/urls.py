from django.urls import path

from swaps import api

urlpatterns = [
    path("quotes", api.QuoteCreateApi.as_view(), name="quotes"),
    path("swaps", api.SwapCreateApi.as_view(), name="swaps"),
    path("swaps/<uuid:public_id>", api.SwapDetailApi.as_view(), name="swap"),
    path("swaps/<uuid:public_id>/accept", api.SwapAcceptApi.as_view(), name="swap-accept"),
    path("swaps/<uuid:public_id>/refund", api.SwapRefundApi.as_view(), name="swap-refund"),
]
