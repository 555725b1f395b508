"""Swap quotes (``POST /api/quotes``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.fields import BaseUnitsField
from exchange.idempotency import idempotent
from exchange.money import to_display
from exchange.permissions import SwapsOpen
from orders.models import Currency
from swaps.models import QuoteKind
from swaps.quotes import quote_create


class QuoteOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    type = serializers.CharField(source="kind")
    from_currency = serializers.CharField()
    to_currency = serializers.CharField()
    amount_from = serializers.SerializerMethodField()
    amount_from_display = serializers.SerializerMethodField()
    amount_to = serializers.SerializerMethodField()
    amount_to_display = serializers.SerializerMethodField()
    network_fee = serializers.SerializerMethodField()
    rate = serializers.DecimalField(max_digits=40, decimal_places=18, coerce_to_string=True)
    market_rate = serializers.DecimalField(max_digits=40, decimal_places=18, coerce_to_string=True)
    spread_bps = serializers.IntegerField()
    min_from = serializers.SerializerMethodField()
    max_from = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField()

    def get_amount_from(self, q) -> str:
        return str(q.amount_from)

    def get_amount_from_display(self, q) -> str:
        return to_display(q.amount_from, q.from_currency)

    def get_amount_to(self, q) -> str:
        return str(q.amount_to)

    def get_amount_to_display(self, q) -> str:
        return to_display(q.amount_to, q.to_currency)

    def get_network_fee(self, q) -> str:
        return str(q.network_fee)

    def get_min_from(self, q) -> str:
        return str(q.min_from)

    def get_max_from(self, q) -> str:
        return str(q.max_from)


class QuoteCreateApi(APIView):
    """Price a swap: give ``amount_from`` (what you send) or ``amount_to`` (what you want)."""

    permission_classes = [SwapsOpen]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "QuoteCreate"

        from_currency = serializers.ChoiceField(choices=Currency.choices)
        to_currency = serializers.ChoiceField(choices=Currency.choices)
        amount_from = BaseUnitsField(required=False)
        amount_to = BaseUnitsField(required=False)
        type = serializers.ChoiceField(choices=QuoteKind.values, default=QuoteKind.FIXED)

        def validate(self, data):
            if ("amount_from" in data) == ("amount_to" in data):
                raise serializers.ValidationError(
                    {"amount_from": "give exactly one of amount_from and amount_to"}
                )
            if data["from_currency"] == data["to_currency"]:
                raise serializers.ValidationError({"to_currency": "must be the other currency"})
            return data

    @extend_schema(request=InputSerializer, responses={201: QuoteOutputSerializer})
    @idempotent
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        quote = quote_create(
            from_currency=data["from_currency"],
            to_currency=data["to_currency"],
            kind=data["type"],
            amount_from=data.get("amount_from"),
            amount_to=data.get("amount_to"),
            user=request.user,
        )
        return Response(QuoteOutputSerializer(quote).data, status=status.HTTP_201_CREATED)
