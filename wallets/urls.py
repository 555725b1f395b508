from django.urls import path

from wallets.api import ChainStatusApi, ValidateAddressApi
from wallets.chains import COINS

urlpatterns = [
    route
    for coin in COINS
    for route in (
        path(
            f"{coin.api_path}/status",
            ChainStatusApi.as_view(chain=coin.chain),
            name=f"{coin.chain}-status",
        ),
        path(
            f"{coin.api_path}/validate-address",
            ValidateAddressApi.as_view(chain=coin.chain),
            name=f"{coin.chain}-validate-address",
        ),
    )
]
