"""The Greenfield invoice endpoints: thin views over ``invoices.services`` and
``invoices.selectors``, answering ``InvoiceData`` (greenfield.invoice_json).

Every invoice route has the store's form (``stores/{storeId}/invoices/{invoiceId}``) and
BTCPay's store-less one (``invoices/{invoiceId}``), where the store is the invoice's. An
invoice that does not exist, one of another store, and one of a store the key cannot see
are alike 404 ``invoice-not-found``; a store the key sees without the permission is 403.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from exchange.idempotency import idempotent
from greenfield.errors import GreenfieldError, missing_permission, store_not_found
from greenfield.invoice_json import invoice_data, payment_methods_data
from greenfield.permissions import STORE_KWARG, key_of, requires
from greenfield.serializers import GreenfieldInput
from greenfield.views import GreenfieldView
from invoices import selectors, services
from invoices.models import Invoice
from stores.permissions import CAN_CREATE_INVOICE, CAN_MODIFY_INVOICES, CAN_VIEW_INVOICES
from stores.selectors import store_for_key
from stores.services import api_key_allows

INVOICE_KWARG = "invoice_id"


def invoice_not_found() -> GreenfieldError:
    return GreenfieldError(404, "invoice-not-found", "The invoice was not found")


class DecimalJSONParser(JSONParser):
    """JSON whose numbers with a fraction are read as Decimal, never float: an amount
    sent as ``10.1`` is 10.1."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(
                stream.read().decode(encoding), parse_float=Decimal, parse_constant=_refused
            )
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


def _refused(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def on_invoice(permission: str) -> type[BasePermission]:
    """``permission`` on the invoice's store; puts ``view.store`` and ``view.invoice``."""

    class OnInvoice(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            key = key_of(request)
            store_id = view.kwargs.get(STORE_KWARG)
            invoice_id = view.kwargs[INVOICE_KWARG]
            if store_id is not None:
                store = store_for_key(key=key, store_id=store_id)
                if store is None:
                    raise store_not_found()
                if not api_key_allows(key=key, permission=permission, store=store):
                    raise missing_permission(permission)
                invoice = selectors.invoice_of_store(store=store, invoice_id=invoice_id)
                if invoice is None:
                    raise invoice_not_found()
            else:
                invoice = selectors.invoice_by_id(invoice_id=invoice_id)
                store = (
                    store_for_key(key=key, store_id=invoice.store.public_id) if invoice else None
                )
                if invoice is None or store is None:
                    raise invoice_not_found()
                if not api_key_allows(key=key, permission=permission, store=store):
                    raise missing_permission(permission)
            view.store, view.invoice = store, invoice
            return True

    OnInvoice.__name__ = f"OnInvoice({permission})"
    return OnInvoice


class InvoiceView(GreenfieldView):
    parser_classes = [DecimalJSONParser]
    invoice: Invoice

    def answer(self, invoice: Invoice, *, payment_methods: bool = False) -> Response:
        return Response(
            invoice_data(
                invoice,
                selectors.invoice_paid(invoice),
                checkout_link=self.request.build_absolute_uri(f"/i/{invoice.public_id}"),
                payment_methods=payment_methods,
            )
        )


class AmountField(serializers.Field):
    """A price as Greenfield clients send it, a string or a number: passed on as text to
    the service, which says what is wrong with it."""

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, bool) or not isinstance(data, (str, int, Decimal)):
            raise serializers.ValidationError("must be a decimal number or string")
        return str(data)


class CheckoutInput(GreenfieldInput):
    speedPolicy = serializers.CharField(required=False, default="")
    paymentMethods = serializers.ListField(
        child=serializers.CharField(), required=False, default=list
    )
    expirationMinutes = serializers.IntegerField(required=False, default=None)
    monitoringMinutes = serializers.IntegerField(required=False, default=None)
    redirectURL = serializers.CharField(required=False, default="", allow_blank=True)
    redirectAutomatically = serializers.BooleanField(required=False, default=False)


class InvoiceListApi(InvoiceView):
    """``POST stores/{storeId}/invoices`` (200, as Greenfield) and ``GET`` the list."""

    def get_permissions(self) -> list[BasePermission]:
        needed = CAN_CREATE_INVOICE if self.request.method == "POST" else CAN_VIEW_INVOICES
        return [requires(needed)()]

    class CreateInput(GreenfieldInput):
        amount = AmountField()
        currency = serializers.CharField(required=False, default="", allow_blank=True)
        metadata = serializers.DictField(required=False, default=dict)
        checkout = CheckoutInput(required=False, default=None)

    class ListInput(GreenfieldInput):
        orderId = serializers.ListField(child=serializers.CharField(), required=False)
        status = serializers.ListField(child=serializers.CharField(), required=False)
        textSearch = serializers.CharField(required=False, default="", allow_blank=True)
        startDate = serializers.IntegerField(required=False, default=None)
        endDate = serializers.IntegerField(required=False, default=None)
        skip = serializers.IntegerField(required=False, default=0, min_value=0)
        take = serializers.IntegerField(required=False, default=None, min_value=0)
        includeArchived = serializers.BooleanField(required=False, default=False)
        includePaymentMethods = serializers.BooleanField(required=False, default=False)

        def validate(self, data: dict[str, Any]) -> dict[str, Any]:
            start, end = data.get("startDate"), data.get("endDate")
            if start is not None and end is not None and start > end:
                raise serializers.ValidationError(
                    {
                        "startDate": "startDate should not be above endDate",
                        "endDate": "endDate should not be below startDate",
                    }
                )
            return data

    @idempotent
    def post(self, request: Request, store_id: str) -> Response:
        body = self.CreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        checkout = data.get("checkout") or {}
        invoice = services.invoice_create(
            store=self.store,
            amount=data["amount"],
            currency=data["currency"],
            metadata=data["metadata"],
            speed_policy=checkout.get("speedPolicy", ""),
            payment_methods=checkout.get("paymentMethods") or None,
            expiration_minutes=checkout.get("expirationMinutes"),
            monitoring_minutes=checkout.get("monitoringMinutes"),
            redirect_url=checkout.get("redirectURL", ""),
            redirect_automatically=checkout.get("redirectAutomatically", False),
        )
        return self.answer(invoice)

    def get(self, request: Request, store_id: str) -> Response:
        query_data = {
            name: request.query_params.getlist(name)
            if name in ("orderId", "status")
            else request.query_params.get(name)
            for name in request.query_params
        }
        query = self.ListInput(data=query_data)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        invoices = list(
            selectors.invoices_of_store(
                store=self.store,
                order_ids=q.get("orderId", []),
                statuses=q.get("status", []),
                text=q["textSearch"],
                start=_moment(q["startDate"]),
                end=_moment(q["endDate"]),
                include_archived=q["includeArchived"],
                skip=q["skip"],
                take=q["take"],
            )
        )
        paid = selectors.invoices_paid(invoices)
        return Response(
            [
                invoice_data(
                    invoice,
                    paid[invoice.id],
                    checkout_link=request.build_absolute_uri(f"/i/{invoice.public_id}"),
                    payment_methods=q["includePaymentMethods"],
                )
                for invoice in invoices
            ]
        )


def _moment(seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds is not None else None


class InvoiceDetailApi(InvoiceView):
    """``GET``, ``PUT`` (its metadata) and ``DELETE`` (archive) of one invoice."""

    def get_permissions(self) -> list[BasePermission]:
        needed = CAN_VIEW_INVOICES if self.request.method == "GET" else CAN_MODIFY_INVOICES
        return [on_invoice(needed)()]

    class QueryInput(GreenfieldInput):
        includePaymentMethods = serializers.BooleanField(required=False, default=False)

    class UpdateInput(GreenfieldInput):
        metadata = serializers.DictField(required=False, default=None)

    def get(self, request: Request, invoice_id: str, store_id: str | None = None) -> Response:
        query = self.QueryInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        return self.answer(
            self.invoice, payment_methods=query.validated_data["includePaymentMethods"]
        )

    def put(self, request: Request, invoice_id: str, store_id: str | None = None) -> Response:
        body = self.UpdateInput(data=request.data)
        body.is_valid(raise_exception=True)
        metadata = body.validated_data["metadata"]
        invoice = self.invoice
        if metadata is not None:
            invoice = services.invoice_metadata_update(invoice_id=invoice.id, metadata=metadata)
        return self.answer(invoice)

    def delete(self, request: Request, invoice_id: str, store_id: str | None = None) -> Response:
        services.invoice_archive_set(invoice_id=self.invoice.id, archived=True)
        return Response(status=200)


class InvoiceUnarchiveApi(InvoiceView):
    """``POST …/{invoiceId}/unarchive``: 400 ``already-unarchived`` if it is not archived."""

    permission_classes = [on_invoice(CAN_MODIFY_INVOICES)]

    def post(self, request: Request, invoice_id: str, store_id: str | None = None) -> Response:
        if not services.invoice_archive_set(invoice_id=self.invoice.id, archived=False):
            raise GreenfieldError(400, "already-unarchived", "Invoice is already unarchived")
        return self.answer(selectors.invoice_get(id=self.invoice.id))


class InvoiceStatusApi(InvoiceView):
    """``POST …/{invoiceId}/status`` with ``{"status": "Settled" | "Invalid"}``, any case."""

    permission_classes = [on_invoice(CAN_MODIFY_INVOICES)]

    class InputSerializer(GreenfieldInput):
        status = serializers.CharField()

    def post(self, request: Request, invoice_id: str, store_id: str | None = None) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invoice = services.invoice_mark(
            invoice_id=self.invoice.id, status=body.validated_data["status"]
        )
        return self.answer(selectors.invoice_get(id=invoice.id))


class InvoicePaymentMethodsApi(InvoiceView):
    """``GET …/{invoiceId}/payment-methods``: ``onlyAccountedPayments`` (default true, as
    BTCPay) leaves out payments dropped from the chain."""

    permission_classes = [on_invoice(CAN_VIEW_INVOICES)]

    class QueryInput(GreenfieldInput):
        onlyAccountedPayments = serializers.BooleanField(required=False, default=True)

    def get(self, request: Request, invoice_id: str, store_id: str | None = None) -> Response:
        query = self.QueryInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(
            payment_methods_data(
                selectors.invoice_paid(self.invoice),
                only_accounted=query.validated_data["onlyAccountedPayments"],
            )
        )


class InvoicePaymentMethodActivateApi(InvoiceView):
    """``POST …/{invoiceId}/payment-methods/{paymentMethod}/activate``: the prompt's
    deposit address, on a store with lazy payment methods; again, nothing changes."""

    permission_classes = [on_invoice(CAN_VIEW_INVOICES)]

    def post(
        self,
        request: Request,
        invoice_id: str,
        payment_method: str,
        store_id: str | None = None,
    ) -> Response:
        services.invoice_method_activate(invoice_id=self.invoice.id, payment_method=payment_method)
        return Response(status=200)
