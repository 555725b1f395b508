"""The escrow order API: one small view per endpoint, one service call each."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.api import SignedInRequest
from exchange.fields import BaseUnitsField
from exchange.idempotency import idempotent
from exchange.money import to_display
from exchange.pagination import Pagination
from funding.selectors import history_of
from funding.serializers import (
    DepositSerializer,
    FundedOrderSerializer,
    HistoryEventSerializer,
    OwnershipTransferSerializer,
    validated,
)
from orders import services
from orders.models import ORDER_STATE_CHOICES, Currency, EscrowOrder
from orders.selectors import order_payment, orders_visible_to


class OrderOutputSerializer(FundedOrderSerializer):
    id = serializers.IntegerField()
    currency = serializers.CharField()
    amount = BaseUnitsField(read_only=True)
    amount_display = serializers.SerializerMethodField()
    fee_amount = BaseUnitsField(read_only=True)
    escrowed_amount = BaseUnitsField(read_only=True)
    buyer = serializers.CharField(source="buyer.username")
    vendor = serializers.CharField(source="vendor.username")
    description = serializers.CharField()
    refund_address = serializers.SerializerMethodField(
        help_text="shown to the buyer and staff only; empty for the vendor"
    )
    account_index = serializers.IntegerField(source="account.account_index")
    payment = serializers.SerializerMethodField()

    def get_refund_address(self, order: EscrowOrder) -> str:
        user = getattr(self.context.get("request"), "user", None)
        if user is not None and (user.is_staff or user.id == order.buyer_id):
            return order.refund_address
        return ""

    def get_amount_display(self, order: EscrowOrder) -> str:
        return to_display(order.amount, order.currency)

    def get_payment(self, order: EscrowOrder) -> dict:
        if self.context.get("created"):
            return {
                "seen": "0",
                "credited": "0",
                "missing": str(order.amount),
                "missing_display": to_display(order.amount, order.currency),
                "deposits": [],
            }
        payment = order_payment(order)
        return {
            "seen": str(payment.seen),
            "credited": str(payment.credited),
            "missing": str(payment.missing),
            "missing_display": to_display(payment.missing, order.currency),
            "deposits": DepositSerializer(payment.deposits, many=True).data,
        }


class OrderPageSerializer(serializers.Serializer):
    class Meta:
        ref_name = "OrderPage"

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OrderOutputSerializer(many=True)


class OrderListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "OrderCreate"

        currency = serializers.ChoiceField(choices=Currency.values)
        amount = BaseUnitsField()
        vendor = serializers.CharField(max_length=150)
        description = serializers.CharField(
            max_length=500, required=False, allow_blank=True, default=""
        )
        refund_address = serializers.CharField(
            max_length=128, required=False, allow_blank=True, default=""
        )

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "OrderFilter"

        state = serializers.ChoiceField(choices=ORDER_STATE_CHOICES, required=False)
        currency = serializers.ChoiceField(choices=Currency.values, required=False)
        role = serializers.ChoiceField(choices=["buyer", "vendor"], required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter("state", enum=[state for state, _ in ORDER_STATE_CHOICES]),
            OpenApiParameter("currency", enum=Currency.values),
            OpenApiParameter("role", enum=["buyer", "vendor"]),
        ],
        responses=OrderPageSerializer,
        operation_id="orders_list",
    )
    def get(self, request: SignedInRequest) -> Response:
        data = validated(self.FilterSerializer, request.query_params)
        orders = orders_visible_to(request.user).order_by("-id")
        if "state" in data:
            orders = orders.filter(state=data["state"])
        if "currency" in data:
            orders = orders.filter(currency=data["currency"])
        if data.get("role") == "buyer":
            orders = orders.filter(buyer=request.user)
        elif data.get("role") == "vendor":
            orders = orders.filter(vendor=request.user)
        paginator = Pagination()
        page = paginator.paginate_queryset(orders, request, view=self)
        return paginator.get_paginated_response(
            OrderOutputSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(request=InputSerializer, responses={201: OrderOutputSerializer})
    @idempotent
    def post(self, request: SignedInRequest) -> Response:
        data = validated(self.InputSerializer, request.data)
        order = services.order_create(
            buyer=request.user,
            vendor_username=data["vendor"],
            currency=data["currency"],
            amount=data["amount"],
            description=data["description"],
            refund_address=data["refund_address"],
        )
        # A new order has no deposit or payout yet: nothing more to read.
        data = OrderOutputSerializer(order, context={"created": True, "request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


def _order(request: Request, order_id: int) -> EscrowOrder:
    """The order if the caller may see it; 404 otherwise (never 403, to hide its existence)."""
    return get_object_or_404(orders_visible_to(request.user), id=order_id)


def _shown(request: Request, order: EscrowOrder) -> dict:
    return OrderOutputSerializer(order, context={"request": request}).data


class OrderDetailApi(APIView):
    class PatchSerializer(serializers.Serializer):
        class Meta:
            ref_name = "OrderPatch"

        refund_address = serializers.CharField(max_length=128)

    @extend_schema(responses=OrderOutputSerializer)
    def get(self, request: SignedInRequest, order_id: int) -> Response:
        return Response(_shown(request, _order(request, order_id)))

    @extend_schema(request=PatchSerializer, responses=OrderOutputSerializer)
    def patch(self, request: SignedInRequest, order_id: int) -> Response:
        order = _order(request, order_id)
        data = validated(self.PatchSerializer, request.data)
        services.order_set_refund_address(
            order_id=order.id, actor=request.user, refund_address=data["refund_address"]
        )
        return Response(_shown(request, _order(request, order_id)))


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class _OrderActionApi(APIView):
    action: str = ""

    @extend_schema(request=ReasonSerializer, responses=OrderOutputSerializer)
    @idempotent
    def post(self, request: SignedInRequest, order_id: int) -> Response:
        order = _order(request, order_id)
        reason = validated(ReasonSerializer, request.data)["reason"]
        action = getattr(services, f"order_{self.action}")
        action(order_id=order.id, actor=request.user, reason=reason)
        return Response(_shown(request, _order(request, order_id)))


class OrderReleaseApi(_OrderActionApi):
    """Release the escrow to the vendor (the buyer, or staff)."""

    action = "release"


class OrderRefundApi(_OrderActionApi):
    """Refund the escrow to the buyer (the vendor, or staff)."""

    action = "refund"


class OrderDisputeApi(_OrderActionApi):
    """Open a dispute (the buyer or the vendor); a reason is required."""

    action = "dispute"


class OrderHistoryApi(APIView):
    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "OrderHistory"

        events = serializers.ListField(child=serializers.DictField())
        ownership = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer)
    def get(self, request: SignedInRequest, order_id: int) -> Response:
        history = history_of(_order(request, order_id))
        return Response(
            {
                "events": HistoryEventSerializer(history["events"], many=True).data,
                "ownership": OwnershipTransferSerializer(history["ownership"], many=True).data,
            }
        )


class OrderAccountApi(APIView):
    """The deposit account of an order on one chain: address, balances, deposits."""

    currency: str = ""

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "OrderAccount"

        order = serializers.IntegerField()
        account_index = serializers.IntegerField(allow_null=True)
        address = serializers.CharField()
        state = serializers.CharField()
        balance = serializers.DictField()
        deposits = DepositSerializer(many=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request: SignedInRequest, order_id: int) -> Response:
        order = _order(request, order_id)
        if order.currency != self.currency:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        payment = order_payment(order)
        account = order.account
        if account is None:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        return Response(
            {
                "order": order.id,
                "account_index": account.account_index,
                "address": account.address,
                "state": account.state,
                "balance": {
                    "seen": str(payment.seen),
                    "credited": str(payment.credited),
                    "node": str(account.node_balance),
                    "node_spendable": str(account.node_spendable),
                    "synced_at": account.balance_synced_at,
                },
                "deposits": DepositSerializer(payment.deposits, many=True).data,
            }
        )
