"""The swap API. A swap is addressed by its public id, which is also the capability to read
it when it was created without an account."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.clients import client_key
from exchange.fields import BaseUnitsField
from exchange.idempotency import idempotent
from exchange.money import to_display
from exchange.permissions import SwapsOpen
from funding.selectors import payment
from funding.serializers import FundedOrderSerializer, validated
from orders import services
from orders.models import SwapOrder, SwapState
from orders.selectors import swap_amount_to, swap_visible_to


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

    def get_amount_from_display(self, s) -> str:
        return to_display(s.amount_from, s.from_currency)

    def get_amount_to(self, s) -> str:
        """What the customer receives: the payout less its (estimated, then actual) fee."""
        return str(swap_amount_to(s))

    def get_amount_to_display(self, s) -> str:
        return to_display(swap_amount_to(s), s.to_currency)

    def get_action_required(self, s) -> dict | None:
        if s.state != SwapState.ACTION_REQUIRED:
            return None
        return {"reason": s.action_reason, "choices": ["accept", "refund"]}

    def get_payment(self, s) -> dict:
        paid = payment(s)
        return {
            "seen": str(paid.seen),
            "credited": str(paid.credited),
            "confirmations": paid.confirmations,
            "deposits": len(paid.deposits),
        }


def _swap(request, public_id) -> SwapOrder:
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
    def post(self, request):
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
    def get(self, request, public_id):
        return Response(SwapOutputSerializer(_swap(request, public_id)).data)


class _SwapActionApi(APIView):
    permission_classes = [SwapsOpen]
    action: str = ""

    @extend_schema(request=None, responses=SwapOutputSerializer)
    @idempotent
    def post(self, request, public_id):
        swap = _swap(request, public_id)
        getattr(services, f"swap_{self.action}")(swap_id=swap.id, actor=request.user)
        return Response(SwapOutputSerializer(_swap(request, public_id)).data)


class SwapAcceptApi(_SwapActionApi):
    """action_required: continue at the current rate."""

    action = "accept"


class SwapRefundApi(_SwapActionApi):
    """action_required: send the deposit back to the refund address (less the network fee)."""

    action = "refund"
