"""Greenfield's refunds: ``POST …/invoices/{invoiceId}/refund`` (in the store's form and
the store-less one) answers the pull payment the customer claims on its ``viewLink``;
``GET pull-payments/{pullPaymentId}`` reads one, anonymously, as BTCPay has it; ``DELETE
stores/{storeId}/pull-payments/{pullPaymentId}`` (BTCPay's archive) cancels one nobody
claimed. Thin views over ``invoices.services.refunds``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from exchange.idempotency import idempotent
from greenfield.errors import GreenfieldError
from greenfield.invoices import InvoiceView, on_invoice
from greenfield.permissions import requires
from greenfield.serializers import GreenfieldInput
from greenfield.views import GreenfieldView
from invoices import selectors
from invoices.models import Refund, RefundState
from invoices.services import RefundAsk, method_id, refund_cancel, refund_create
from invoices.services.refunds import NonRefundable
from staff.services.authorize import needs_approval
from stores.models import PAYMENT_METHODS
from stores.permissions import CAN_CREATE_NON_APPROVED_PULL_PAYMENTS
from wallets.chains.registry import coin

# BTCPay's default for pull payments (days): meaningless without Lightning, kept as sent.
BOLT11_EXPIRATION_DAYS = 30


class DecimalInput(serializers.Field):
    """A decimal number as Greenfield clients send one, a string or a number (never read
    as a float: greenfield.invoices.DecimalJSONParser)."""

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, (str, int, Decimal)):
            raise serializers.ValidationError("must be a decimal number or string")
        try:
            value = Decimal(str(data).strip())
        except InvalidOperation as exc:
            raise serializers.ValidationError("must be a decimal number") from exc
        if not value.is_finite():
            raise serializers.ValidationError("must be a decimal number")
        return value


def pull_payment_data(refund: Refund, *, view_link: str) -> dict[str, Any]:
    """Greenfield's ``PullPaymentData`` of a refund."""
    decimals = coin(refund.currency).decimals
    return {
        "id": refund.public_id,
        "name": refund.name,
        "description": refund.description,
        "currency": refund.currency,
        "amount": f"{Decimal(refund.amount).scaleb(-decimals):.{decimals}f}",
        "period": None,
        "BOLT11Expiration": BOLT11_EXPIRATION_DAYS,
        "autoApproveClaims": not needs_approval(currency=refund.currency, amount=refund.amount),
        "archived": refund.state == RefundState.CANCELLED,
        "viewLink": view_link,
        "startsAt": int(refund.created_at.timestamp()),
        "expiresAt": None,
    }


def _answer(request: Request, refund: Refund) -> Response:
    link = request.build_absolute_uri(f"/refunds/{refund.public_id}")
    return Response(pull_payment_data(refund, view_link=link))


class InvoiceRefundApi(InvoiceView):
    """``POST …/{invoiceId}/refund``: 400 ``non-refundable`` for an invoice that cannot be
    refunded here (not paid, or its money already paid to the store's address)."""

    permission_classes = [on_invoice(CAN_CREATE_NON_APPROVED_PULL_PAYMENTS)]

    class InputSerializer(GreenfieldInput):
        refundVariant = serializers.CharField(required=False, default="", allow_blank=True)
        subtractPercentage = DecimalInput(required=False, default=Decimal(0))
        customAmount = DecimalInput(required=False, default=None)
        customCurrency = serializers.CharField(required=False, default="", allow_blank=True)
        name = serializers.CharField(required=False, default="", allow_blank=True, max_length=100)
        description = serializers.CharField(required=False, default="", allow_blank=True)
        paymentMethod = serializers.CharField(required=False, default="", allow_blank=True)
        payoutMethodId = serializers.CharField(required=False, default="", allow_blank=True)
        payoutMethods = serializers.ListField(child=serializers.CharField(), required=False)

        def validate_payoutMethods(self, value: list[str]) -> list[str]:
            for name in value:
                if method_id(name) not in PAYMENT_METHODS:
                    raise serializers.ValidationError(
                        f"Invalid or unsupported payout method: {name}"
                    )
            return value

    @idempotent
    def post(self, request: Request, invoice_id: str, store_id: str | None = None) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        methods = data.get("payoutMethods") or [data["payoutMethodId"] or data["paymentMethod"]]
        ask = RefundAsk(
            variant=data["refundVariant"],
            payment_method=methods[0],
            subtract_percentage=data["subtractPercentage"],
            custom_amount=data["customAmount"],
            custom_currency=data["customCurrency"],
            name=data["name"],
            description=data["description"],
        )
        try:
            refund = refund_create(invoice_id=self.invoice.id, ask=ask)
        except NonRefundable as refused:
            raise GreenfieldError(400, "non-refundable", refused.message) from refused
        return _answer(request, refund)


class PullPaymentApi(GreenfieldView):
    """``GET pull-payments/{pullPaymentId}``: anyone with the id, as the claim page."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get(self, request: Request, pull_payment_id: str) -> Response:
        refund = selectors.refund_by_id(refund_id=pull_payment_id)
        if refund is None:
            raise pull_payment_not_found()
        return _answer(request, refund)


def pull_payment_not_found() -> GreenfieldError:
    return GreenfieldError(404, "pullpayment-not-found", "Pull payment not found")


class StorePullPaymentApi(GreenfieldView):
    """``DELETE stores/{storeId}/pull-payments/{pullPaymentId}``: a refund not claimed yet
    is cancelled, its money back where it was set aside from (BTCPay archives the pull
    payment); a claimed one is 409. Another store's is not found."""

    permission_classes = [requires(CAN_CREATE_NON_APPROVED_PULL_PAYMENTS)]

    def delete(self, request: Request, store_id: str, pull_payment_id: str) -> Response:
        refund = selectors.refund_of_store(store=self.store, refund_id=pull_payment_id)
        if refund is None:
            raise pull_payment_not_found()
        refund_cancel(refund_id=refund.id)
        return Response(status=200)
