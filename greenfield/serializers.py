"""Greenfield's JSON: camelCase names, as BTCPay Server's client models have them
(``BTCPayServer.Client/Models``), read from the engine's snake_case rows."""

from __future__ import annotations

import copy
from typing import Any

from rest_framework import serializers

from stores.models import PAYMENT_METHODS, Store
from wallets.chains import coin


class GreenfieldInput(serializers.Serializer):
    """A request body or query as Greenfield clients send it: fields this server does not
    know are ignored, and a null stands for a field not given (clients serialise every
    property of their models, null when unset)."""

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "items"):
            data = {
                name: value
                for name, value in data.items()
                if value is not None
                or (name in self.fields and getattr(self.fields[name], "allow_null", False))
            }
        return super().to_internal_value(data)


def currency_of(payment_method_id: str) -> str:
    """``"BTC-CHAIN"`` → ``"BTC"``."""
    return payment_method_id.split("-", 1)[0]


class StoreOutput(serializers.Serializer):
    """``StoreData``: the fields this engine has a true value for. Checkout look and feel
    (logo, CSS, colours) it does not keep: null. No Lightning, no payjoin, and every invoice
    is made with a key."""

    CONSTANT: dict[str, Any] = {
        "website": None,
        "supportUrl": None,
        "logoUrl": None,
        "cssUrl": None,
        "brandColor": None,
        "additionalTrackedRates": [],
        "paymentMethodCriteria": [],
        "anyoneCanCreateInvoice": False,
        "payJoinEnabled": False,
        "defaultLang": "en",
    }

    id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    defaultCurrency = serializers.CharField(source="default_currency")
    invoiceExpiration = serializers.SerializerMethodField()
    monitoringExpiration = serializers.SerializerMethodField()
    speedPolicy = serializers.CharField(source="speed_policy")
    lazyPaymentMethods = serializers.BooleanField(source="lazy_payment_methods")
    defaultPaymentMethod = serializers.SerializerMethodField()
    archived = serializers.BooleanField()

    def get_invoiceExpiration(self, store: Store) -> int:
        return store.invoice_expiration_minutes * 60

    def get_monitoringExpiration(self, store: Store) -> int:
        return store.monitoring_minutes * 60

    def get_defaultPaymentMethod(self, store: Store) -> str | None:
        return store.payment_methods[0] if store.payment_methods else None

    def to_representation(self, instance: Store) -> dict[str, Any]:
        return {**super().to_representation(instance), **copy.deepcopy(self.CONSTANT)}


def store_payment_methods(
    store: Store, *, only_enabled: bool, include_config: bool
) -> list[dict[str, Any]]:
    """``GenericPaymentMethodData`` of every payment method this engine has, in the coin
    registry's order: enabled if the store offers it. BTCPay gives the config only when
    asked (``includeConfig``); here it is the chain the engine pays and is paid on."""
    methods = []
    for method in PAYMENT_METHODS:
        enabled = method in store.payment_methods
        if only_enabled and not enabled:
            continue
        config = None
        if include_config:
            config = {
                "cryptoCode": currency_of(method),
                "network": coin(currency_of(method)).network,
            }
        methods.append({"paymentMethodId": method, "enabled": enabled, "config": config})
    return methods


def sync_status(
    nodes: dict[str, dict], scanned: dict[str, int | None]
) -> tuple[bool, list[dict[str, Any]]]:
    """``fullySynched`` and ``syncStatus`` from each chain's node status and the height its
    deposit scans reached (the engine's indexer, as NBXplorer is BTCPay's)."""
    from wallets.chains import COINS

    statuses = []
    for c in COINS:
        node = nodes.get(c.chain, {})
        reachable = bool(node.get("reachable"))
        available = reachable and bool(node.get("synced"))
        statuses.append(
            {
                "paymentMethodId": f"{c.code}-CHAIN",
                "cryptoCode": c.code,
                "chainHeight": int(node.get("height") or 0),
                "syncHeight": scanned.get(c.chain),
                "nodeInformation": {
                    "headers": int(node.get("headers") or node.get("height") or 0),
                    "blocks": int(node.get("height") or 0),
                    "verificationProgress": float(node.get("progress") or 0.0),
                }
                if reachable
                else None,
                "available": available,
            }
        )
    return all(s["available"] for s in statuses), statuses
