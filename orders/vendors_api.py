"""A vendor's payout addresses: where their sales are paid, one per currency."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.api import SignedInRequest
from exchange.errors import ApplicationError
from orders.models import Currency, VendorPayoutAddress
from orders.services.vendors import vendor_payout_address_set


class PayoutAddressSerializer(serializers.Serializer):
    currency = serializers.CharField()
    address = serializers.CharField()
    updated_at = serializers.DateTimeField()


class PayoutAddressListApi(APIView):
    """The caller's payout addresses."""

    @extend_schema(responses=PayoutAddressSerializer(many=True))
    def get(self, request: SignedInRequest) -> Response:
        rows = VendorPayoutAddress.objects.filter(user=request.user).order_by("currency")
        return Response(PayoutAddressSerializer(rows, many=True).data)


class PayoutAddressApi(APIView):
    """Set where the caller's sales in one currency are paid (checked for the network)."""

    class InputSerializer(serializers.Serializer):
        address = serializers.CharField(max_length=128)

    @extend_schema(request=InputSerializer, responses=PayoutAddressSerializer)
    def put(self, request: SignedInRequest, currency: str) -> Response:
        if currency not in Currency.values:
            raise ApplicationError(f"unknown currency {currency!r}", field="currency")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = vendor_payout_address_set(
            user=request.user, currency=currency, address=serializer.validated_data["address"]
        )
        return Response(PayoutAddressSerializer(row).data)
