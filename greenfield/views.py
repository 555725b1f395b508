"""The Greenfield endpoints: each a thin view that checks the key (``greenfield.auth``,
``greenfield.permissions``), calls one selector or service of ``stores`` and answers
Greenfield's JSON. Invoices and webhooks come as their own modules beside this one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.health import nodes_status
from greenfield import serializers as out
from greenfield.auth import GreenfieldKeyAuthentication, presented_key
from greenfield.errors import exception_handler, missing_permission
from greenfield.permissions import KeyRequired, key_of, requires
from stores.models import PAYMENT_METHODS, Store
from stores.permissions import CAN_MODIFY_STORE_SETTINGS, CAN_VIEW_STORE_SETTINGS
from stores.selectors import stores_for_key
from stores.services import api_key_allows, api_key_revoke
from wallets.chains import COINS
from wallets.selectors import scanned_height


class GreenfieldView(APIView):
    """What every Greenfield endpoint shares: key authentication only, JSON in and out,
    Greenfield's error answers. Not in the engine's own schema (/api/schema/): BTCPay's
    OpenAPI documents these."""

    authentication_classes = [GreenfieldKeyAuthentication]
    permission_classes: list[Any] = [KeyRequired]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    schema = None
    store: Store  # set by ``requires`` on views with a store in their URL

    def get_exception_handler(self) -> Callable[[Exception, dict], Response | None]:
        return exception_handler


def _synchronized() -> tuple[bool, list[dict[str, Any]]]:
    nodes = nodes_status(max_age=settings.GREENFIELD_SYNC_CACHE_SECONDS)
    scanned = {c.chain: scanned_height(chain=c.chain) for c in COINS}
    return out.sync_status(nodes, scanned)


class ServerInfoApi(GreenfieldView):
    """``GET server/info``: any valid key."""

    def get(self, request: Request) -> Response:
        synched, statuses = _synchronized()
        return Response(
            {
                "version": settings.GREENFIELD_SERVER_VERSION,
                "onion": settings.GREENFIELD_ONION,
                "supportedPaymentMethods": list(PAYMENT_METHODS),
                "fullySynched": synched,
                "syncStatus": statuses,
            }
        )


class HealthApi(GreenfieldView):
    """``GET health``: anonymous, as BTCPay's; nodes are asked at most every
    GREENFIELD_SYNC_CACHE_SECONDS whoever polls."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        synched, _ = _synchronized()
        return Response({"synchronized": synched})


class CurrentApiKeyApi(GreenfieldView):
    """``GET api-keys/current``: the key itself, its label and its permissions as they were
    given (clients read their store id from the first one). ``DELETE``: revoke it."""

    def get(self, request: Request) -> Response:
        key = key_of(request)
        return Response(
            {"apiKey": presented_key(request), "label": key.label, "permissions": key.permissions}
        )

    def delete(self, request: Request) -> Response:
        key = key_of(request)
        api_key_revoke(owner=key.owner, key_id=key.id)
        return Response(status=200)


class StoreListApi(GreenfieldView):
    """``GET stores``: the owner's stores whose settings the key may view."""

    permission_classes = [requires(CAN_VIEW_STORE_SETTINGS)]

    def get(self, request: Request) -> Response:
        stores = stores_for_key(key=key_of(request), permission=CAN_VIEW_STORE_SETTINGS)
        return Response(out.StoreOutput(stores, many=True).data)


class StoreDetailApi(GreenfieldView):
    """``GET stores/{storeId}``."""

    permission_classes = [requires(CAN_VIEW_STORE_SETTINGS)]

    def get(self, request: Request, store_id: str) -> Response:
        return Response(out.StoreOutput(self.store).data)


class StorePaymentMethodsApi(GreenfieldView):
    """``GET stores/{storeId}/payment-methods``: ``onlyEnabled``, and ``includeConfig``
    (which needs the store's modify permission, as in BTCPay)."""

    permission_classes = [requires(CAN_VIEW_STORE_SETTINGS)]

    class InputSerializer(out.GreenfieldInput):
        onlyEnabled = out.serializers.BooleanField(required=False, default=False)
        includeConfig = out.serializers.BooleanField(required=False, default=False)

    def get(self, request: Request, store_id: str) -> Response:
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        include_config = query.validated_data["includeConfig"]
        if include_config and not api_key_allows(
            key=key_of(request), permission=CAN_MODIFY_STORE_SETTINGS, store=self.store
        ):
            raise missing_permission(CAN_MODIFY_STORE_SETTINGS)
        return Response(
            out.store_payment_methods(
                self.store,
                only_enabled=query.validated_data["onlyEnabled"],
                include_config=include_config,
            )
        )


@csrf_exempt
def not_found(request: HttpRequest) -> JsonResponse:
    """Any other path under /api/v1/, with any method: Greenfield's 404, never a redirect
    (Django's APPEND_SLASH redirects only a path that does not resolve)."""
    return JsonResponse({"code": "not-found", "message": "No such endpoint"}, status=404)
