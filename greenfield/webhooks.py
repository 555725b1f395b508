"""A store's webhooks through Greenfield (``stores/{storeId}/webhooks``), as BTCPay's
``GreenfieldStoreWebhooksController`` answers them; every endpoint needs
``btcpay.store.webhooks.canmodifywebhooks``. A webhook or delivery of another store is
404 ``webhook-not-found`` / ``webhookdelivery-not-found``, as one that does not exist.
The secret is in the answer to the creation only."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from greenfield.errors import GreenfieldError
from greenfield.permissions import requires
from greenfield.serializers import GreenfieldInput
from greenfield.views import GreenfieldView
from stores.permissions import CAN_MODIFY_WEBHOOKS
from webhooks.btcpay import EVENT_TYPES
from webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from webhooks.store_webhooks import (
    store_webhook_create,
    store_webhook_redeliver,
    store_webhook_update,
    store_webhooks,
)


def webhook_not_found() -> GreenfieldError:
    return GreenfieldError(404, "webhook-not-found", "The webhook was not found")


def delivery_not_found() -> GreenfieldError:
    return GreenfieldError(404, "webhookdelivery-not-found", "The webhook delivery was not found")


def webhook_output(webhook: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    """``StoreWebhookData``."""
    body: dict[str, Any] = {
        "id": webhook.public_id,
        "enabled": webhook.is_active,
        "automaticRedelivery": webhook.automatic_redelivery,
        "url": webhook.url,
        "authorizedEvents": {
            "everything": webhook.all_events,
            "specificEvents": list(webhook.events),
        },
    }
    if with_secret:
        body["secret"] = webhook.secret
    return body


def delivery_status(delivery: WebhookDelivery) -> str:
    """BTCPay's ``WebhookDeliveryStatus`` of the last attempt: ``HttpSuccess``,
    ``HttpError`` (the receiver answered otherwise), ``Failed`` (no answer, or not tried
    yet)."""
    if delivery.state == DeliveryState.DELIVERED:
        return "HttpSuccess"
    return "HttpError" if delivery.last_status is not None else "Failed"


def delivery_output(delivery: WebhookDelivery) -> dict[str, Any]:
    """``WebhookDeliveryData``: times in unix seconds; the error of the last attempt."""
    last = delivery.log.order_by("-number").first()
    error = None
    if last is not None and delivery.state != DeliveryState.DELIVERED:
        error = last.error or (f"HTTP Error Code {last.status_code}" if last.status_code else None)
    return {
        "id": delivery.public_id,
        "timestamp": int(delivery.created_at.timestamp()),
        "deliveryTime": int(last.created_at.timestamp()) if last is not None else None,
        "httpCode": delivery.last_status,
        "errorMessage": error,
        "status": delivery_status(delivery),
    }


class WebhookInput(GreenfieldInput):
    """``CreateStoreWebhookRequest`` / ``UpdateStoreWebhookRequest``: BTCPay's defaults
    (enabled, automatic redelivery, every event) for what is not given."""

    class AuthorizedEvents(GreenfieldInput):
        everything = serializers.BooleanField(required=False, default=True)
        specificEvents = serializers.ListField(
            child=serializers.ChoiceField(choices=EVENT_TYPES), required=False, default=list
        )

    url = serializers.URLField(max_length=500)
    secret = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    enabled = serializers.BooleanField(required=False, default=True)
    automaticRedelivery = serializers.BooleanField(required=False, default=True)
    authorizedEvents = AuthorizedEvents(required=False)

    def service_arguments(self) -> dict[str, Any]:
        data = self.validated_data
        events = data.get("authorizedEvents") or {"everything": True, "specificEvents": []}
        return {
            "url": data["url"],
            "secret": data["secret"],
            "enabled": data["enabled"],
            "automatic_redelivery": data["automaticRedelivery"],
            "everything": events.get("everything", True),
            "specific_events": events.get("specificEvents", []),
        }


class StoreWebhookView(GreenfieldView):
    permission_classes = [requires(CAN_MODIFY_WEBHOOKS)]

    def webhook(self, webhook_id: str) -> WebhookEndpoint:
        webhook = store_webhooks(self.store).filter(public_id=webhook_id).first()
        if webhook is None:
            raise webhook_not_found()
        return webhook

    def delivery(self, webhook_id: str, delivery_id: str) -> WebhookDelivery:
        webhook = self.webhook(webhook_id)
        delivery = (
            WebhookDelivery.objects.filter(endpoint=webhook, public_id=delivery_id)
            .select_related("endpoint", "original")
            .first()
        )
        if delivery is None:
            raise delivery_not_found()
        return delivery


class StoreWebhookListApi(StoreWebhookView):
    """``GET stores/{storeId}/webhooks``; ``POST`` registers one (200, with its secret)."""

    def get(self, request: Request, store_id: str) -> Response:
        return Response([webhook_output(w) for w in store_webhooks(self.store)])

    def post(self, request: Request, store_id: str) -> Response:
        given = WebhookInput(data=request.data)
        given.is_valid(raise_exception=True)
        webhook = store_webhook_create(store=self.store, **given.service_arguments())
        return Response(webhook_output(webhook, with_secret=True))


class StoreWebhookDetailApi(StoreWebhookView):
    """``GET/PUT/DELETE stores/{storeId}/webhooks/{webhookId}``."""

    def get(self, request: Request, store_id: str, webhook_id: str) -> Response:
        return Response(webhook_output(self.webhook(webhook_id)))

    def put(self, request: Request, store_id: str, webhook_id: str) -> Response:
        webhook = self.webhook(webhook_id)
        given = WebhookInput(data=request.data)
        given.is_valid(raise_exception=True)
        webhook = store_webhook_update(webhook=webhook, **given.service_arguments())
        return Response(webhook_output(webhook))

    def delete(self, request: Request, store_id: str, webhook_id: str) -> Response:
        self.webhook(webhook_id).delete()
        return Response(status=200)


class StoreWebhookDeliveriesApi(StoreWebhookView):
    """``GET …/webhooks/{webhookId}/deliveries``: newest first; ``count`` limits them."""

    class InputSerializer(GreenfieldInput):
        count = serializers.IntegerField(required=False, min_value=0, max_value=1000)

    def get(self, request: Request, store_id: str, webhook_id: str) -> Response:
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        deliveries = WebhookDelivery.objects.filter(endpoint=self.webhook(webhook_id)).order_by(
            "-id"
        )
        count = query.validated_data.get("count")
        if count is not None:
            deliveries = deliveries[:count]
        return Response([delivery_output(d) for d in deliveries])


class StoreWebhookDeliveryApi(StoreWebhookView):
    """``GET …/deliveries/{deliveryId}``."""

    def get(self, request: Request, store_id: str, webhook_id: str, delivery_id: str) -> Response:
        return Response(delivery_output(self.delivery(webhook_id, delivery_id)))


class StoreWebhookDeliveryRequestApi(StoreWebhookView):
    """``GET …/deliveries/{deliveryId}/request``: the exact body that was sent."""

    def get(
        self, request: Request, store_id: str, webhook_id: str, delivery_id: str
    ) -> HttpResponse:
        delivery = self.delivery(webhook_id, delivery_id)
        return HttpResponse(delivery.body or "", content_type="application/json")


class StoreWebhookRedeliverApi(StoreWebhookView):
    """``POST …/deliveries/{deliveryId}/redeliver``: answers the new delivery's id (a JSON
    string), as BTCPay does."""

    def post(self, request: Request, store_id: str, webhook_id: str, delivery_id: str) -> Response:
        again = store_webhook_redeliver(delivery=self.delivery(webhook_id, delivery_id))
        return Response(again.public_id)
