"""Swap quotes (``POST /api/quotes``) and swaps (``/api/swaps``). A swap is addressed by
its public id, which is also the capability to read it when it was created without an
account."""

from __future__ import annotations

from uuid import UUID

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.clients import client_key
from exchange.fields import BaseUnitsField
from exchange.idempotency import idempotent
from exchange.money import to_display
from exchange.permissions import SwapsOpen
from funding.selectors import payment
from funding.serializers import FundedOrderSerializer, validated
from orders.models import Currency
from swaps import services
from swaps.models import Quote, QuoteKind, SwapOrder, SwapState
from swaps.quotes import quote_create
from swaps.selectors import swap_amount_to, swap_visible_to


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

    def get_amount_from(self, q: Quote) -> str:
        return str(q.amount_from)

    def get_amount_from_display(self, q: Quote) -> str:
        return to_display(q.amount_from, q.from_currency)

    def get_amount_to(self, q: Quote) -> str:
        return str(q.amount_to)

    def get_amount_to_display(self, q: Quote) -> str:
        return to_display(q.amount_to, q.to_currency)

    def get_network_fee(self, q: Quote) -> str:
        return str(q.network_fee)

    def get_min_from(self, q: Quote) -> str:
        return str(q.min_from)

    def get_max_from(self, q: Quote) -> str:
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

        def validate(self, data: dict[str, object]) -> dict[str, object]:
            if ("amount_from" in data) == ("amount_to" in data):
                raise serializers.ValidationError(
                    {"amount_from": "give exactly one of amount_from and amount_to"}
                )
            if data["from_currency"] == data["to_currency"]:
                raise serializers.ValidationError({"to_currency": "must be the other currency"})
            return data

    @extend_schema(request=InputSerializer, responses={201: QuoteOutputSerializer})
    @idempotent
    def post(self, request: Request) -> Response:
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


class SwapOutputSerializer(FundedOrderSerializer):
    id = serializers.UUIDField(source="public_id")
    type = serializers.CharField(source="kind")
    from_currency = serializers.CharField()
    to_currency = serializers.CharField()
    amount_from = BaseUnitsField(read_only=True)
    amount_from_display = serializers.SerializerMethodField()
    amount_to = serializers.SerializerMethodField()
    amount_to_display = serializers.SerializerMethodField()
    rate = serializers.DecimalField(max_digits=40, decimal_places=18, coerce_to_string=True)
    payout_address = serializers.CharField()
    refund_address = serializers.CharField()
    action_required = serializers.SerializerMethodField()
    payment = serializers.SerializerMethodField()

    def get_amount_from_display(self, s: SwapOrder) -> str:
        return to_display(s.amount_from, s.from_currency)

    def get_amount_to(self, s: SwapOrder) -> str:
        """What the customer receives: the payout less its (estimated, then actual) fee."""
        return str(swap_amount_to(s))

    def get_amount_to_display(self, s: SwapOrder) -> str:
        return to_display(swap_amount_to(s), s.to_currency)

    def get_action_required(self, s: SwapOrder) -> dict | None:
        if s.state != SwapState.ACTION_REQUIRED:
            return None
        return {"reason": s.action_reason, "choices": ["accept", "refund"]}

    def get_payment(self, s: SwapOrder) -> dict:
        paid = payment(s)
        return {
            "seen": str(paid.seen),
            "credited": str(paid.credited),
            "confirmations": paid.confirmations,
            "deposits": len(paid.deposits),
        }


def _swap(request: Request, public_id: UUID) -> SwapOrder:
    """The swap if the caller may see it: its owner or staff; anyone holding the id of a
    swap made without an account. 404 otherwise."""
    swap = swap_visible_to(request.user, public_id)
    if swap is None:
        raise Http404
    return swap


class SwapCreateApi(APIView):
    permission_classes = [SwapsOpen]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SwapCreate"

        quote_id = serializers.UUIDField()
        payout_address = serializers.CharField(max_length=128)
        refund_address = serializers.CharField(max_length=128)

    @extend_schema(request=InputSerializer, responses={201: SwapOutputSerializer})
    @idempotent
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        swap = services.swap_create(
            quote_id=data["quote_id"],
            payout_address=data["payout_address"],
            refund_address=data["refund_address"],
            client=client_key(request),
            user=request.user,
        )
        swap = SwapOrder.objects.select_related("account").get(id=swap.id)
        return Response(SwapOutputSerializer(swap).data, status=status.HTTP_201_CREATED)


class SwapDetailApi(APIView):
    permission_classes = [SwapsOpen]

    @extend_schema(responses=SwapOutputSerializer)
    def get(self, request: Request, public_id: UUID) -> Response:
        return Response(SwapOutputSerializer(_swap(request, public_id)).data)


class _SwapActionApi(APIView):
    permission_classes = [SwapsOpen]
    action: str = ""

    @extend_schema(request=None, responses=SwapOutputSerializer)
    @idempotent
    def post(self, request: Request, public_id: UUID) -> Response:
        swap = _swap(request, public_id)
        getattr(services, f"swap_{self.action}")(swap_id=swap.id, actor=request.user)
        return Response(SwapOutputSerializer(_swap(request, public_id)).data)


class SwapAcceptApi(_SwapActionApi):
    """action_required: continue at the current rate."""

    action = "accept"


class SwapRefundApi(_SwapActionApi):
    """action_required: send the deposit back to the refund address (less the network fee)."""

    action = "refund"
