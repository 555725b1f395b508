from django.urls import path

from wallets.api import ChainStatusApi, ValidateAddressApi
from wallets.models import Chain

urlpatterns = [
    path(
        "bitcoin/status",
        ChainStatusApi.as_view(chain=Chain.BITCOIN),
        name="bitcoin-status",
    ),
    path(
        "monero-account/status",
        ChainStatusApi.as_view(chain=Chain.MONERO),
        name="monero-status",
    ),
    path(
        "bitcoin/validate-address",
        ValidateAddressApi.as_view(chain=Chain.BITCOIN),
        name="bitcoin-validate-address",
    ),
    path(
        "monero-account/validate-address",
        ValidateAddressApi.as_view(chain=Chain.MONERO),
        name="monero-validate-address",
    ),
]
