"""The Greenfield protocol layer without a request: error shapes, lenient input, the
routes' patterns and the sync report."""

from __future__ import annotations

import threading
import time

import pytest
from django.urls import Resolver404, resolve
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, ValidationError

from exchange.errors import ApplicationError, NotFoundError
from exchange.health import DEADLINE_SECONDS, nodes_status
from greenfield.errors import camel, exception_handler, missing_permission, validation_errors
from greenfield.serializers import GreenfieldInput, sync_status
from rates.errors import RateUnavailable
from tests.fast.fake_chain import fake_chain


class Body(GreenfieldInput):
    amount = serializers.CharField()
    speedPolicy = serializers.CharField(required=False, default="MediumSpeed")
    redirectUrl = serializers.CharField(required=False, allow_null=True)


def test_unknown_fields_and_nulls_are_tolerated():
    body = Body(
        data={"amount": "1", "speedPolicy": None, "redirectUrl": None, "somethingNew": [1, 2]}
    )
    assert body.is_valid(), body.errors
    assert body.validated_data == {"amount": "1", "speedPolicy": "MediumSpeed", "redirectUrl": None}


def test_a_null_for_a_required_field_is_still_missing():
    body = Body(data={"amount": None})
    assert not body.is_valid()
    assert validation_errors(body.errors) == [
        {"path": "amount", "message": "This field is required."}
    ]


def test_validation_errors_are_a_flat_list_with_json_paths():
    detail = {
        "amount": ["must be positive"],
        "checkout": {"speed_policy": ["unknown"], "payment_methods": [{}, {"id": ["bad"]}]},
        "non_field_errors": ["inconsistent"],
    }
    assert validation_errors(detail) == [
        {"path": "amount", "message": "must be positive"},
        {"path": "checkout.speedPolicy", "message": "unknown"},
        {"path": "checkout.paymentMethods[1].id", "message": "bad"},
        {"path": "", "message": "inconsistent"},
    ]


def test_camel_case():
    assert camel("invoice_expiration") == "invoiceExpiration"
    assert camel("id") == "id"


def test_error_shapes():
    invalid = exception_handler(ValidationError({"amount": ["no"]}), {})
    assert (invalid.status_code, invalid.data) == (422, [{"path": "amount", "message": "no"}])

    refused = exception_handler(missing_permission("btcpay.store.canviewinvoices"), {})
    assert refused.status_code == 403
    assert refused.data["code"] == "missing-permission"
    assert refused.data["missingPermission"] == "btcpay.store.canviewinvoices"
    assert set(refused.data) == {"code", "message", "missingPermission"}

    anonymous = exception_handler(NotAuthenticated(), {})
    assert anonymous.status_code == 401
    assert anonymous.data["code"] == "unauthenticated"
    assert anonymous["WWW-Authenticate"] == "token"


def test_domain_errors_keep_their_status_in_greenfield_shapes():
    field = exception_handler(ApplicationError("too small", field="invoice_amount"), {})
    assert (field.status_code, field.data) == (
        422,
        [{"path": "invoiceAmount", "message": "too small"}],
    )
    unavailable = exception_handler(RateUnavailable("no fresh BTC/USD rate"), {})
    assert unavailable.status_code == 503
    assert unavailable.data == {"code": "rate_unavailable", "message": "no fresh BTC/USD rate"}
    assert unavailable["Retry-After"]
    missing = exception_handler(NotFoundError("no such invoice", code="invoice_not_found"), {})
    assert missing.status_code == 404
    assert missing.data == {"code": "invoice-not-found", "message": "no such invoice"}


@pytest.mark.parametrize(
    ("path", "name", "kwargs"),
    [
        ("/api/v1/server/info", "server-info", {}),
        ("/api/v1/health", "health", {}),
        ("/api/v1/api-keys/current", "api-key-current", {}),
        ("/api/v1/stores", "stores", {}),
        ("/api/v1/stores/AbC", "store", {"store_id": "AbC"}),
        ("/api/v1/stores/AbC/payment-methods", "store-payment-methods", {"store_id": "AbC"}),
        ("/api/v1/stores/AbC/invoices", "invoices", {"store_id": "AbC"}),
        ("/api/v1/stores/AbC/invoices/I1", "invoice", {"store_id": "AbC", "invoice_id": "I1"}),
        ("/api/v1/invoices/I1", "invoice-any-store", {"invoice_id": "I1"}),
        (
            "/api/v1/stores/AbC/invoices/I1/status",
            "invoice-status",
            {"store_id": "AbC", "invoice_id": "I1"},
        ),
        ("/api/v1/invoices/I1/unarchive", "invoice-unarchive-any-store", {"invoice_id": "I1"}),
        (
            "/api/v1/stores/AbC/invoices/I1/payment-methods",
            "invoice-payment-methods",
            {"store_id": "AbC", "invoice_id": "I1"},
        ),
        (
            "/api/v1/invoices/I1/payment-methods/BTC-CHAIN/activate",
            "invoice-payment-method-activate-any-store",
            {"invoice_id": "I1", "payment_method": "BTC-CHAIN"},
        ),
    ],
)
def test_every_route_resolves_with_and_without_a_trailing_slash(path, name, kwargs):
    for form in (path, path + "/"):
        match = resolve(form)
        assert match.view_name == f"greenfield:{name}", form
        assert match.kwargs == kwargs


def test_no_path_under_api_v1_is_left_unresolved():
    """Django's APPEND_SLASH redirects only a path that does not resolve."""
    for path in ("/api/v1", "/api/v1/", "/api/v1/nothing/here", "/api/v1/stores/A/invoices/B/x"):
        assert resolve(path).func.__name__ == "not_found", path
    with pytest.raises(Resolver404):
        resolve("/api/v1x")


def test_sync_status_reads_each_chain_and_its_scans():
    nodes = {
        "bitcoin": {
            "reachable": True,
            "height": 120,
            "headers": 120,
            "progress": 1.0,
            "synced": True,
        },
        "monero": {"reachable": False, "error": "refused"},
    }
    synched, statuses = sync_status(nodes, {"bitcoin": 118, "monero": None})
    assert synched is False
    assert statuses == [
        {
            "paymentMethodId": "BTC-CHAIN",
            "cryptoCode": "BTC",
            "chainHeight": 120,
            "syncHeight": 118,
            "nodeInformation": {"headers": 120, "blocks": 120, "verificationProgress": 1.0},
            "available": True,
        },
        {
            "paymentMethodId": "XMR-CHAIN",
            "cryptoCode": "XMR",
            "chainHeight": 0,
            "syncHeight": None,
            "nodeInformation": None,
            "available": False,
        },
    ]


def test_a_reachable_node_still_catching_up_is_not_available():
    nodes = {
        chain: {"reachable": True, "height": 10, "headers": 50, "progress": 0.2, "synced": False}
        for chain in ("bitcoin", "monero")
    }
    synched, statuses = sync_status(nodes, {})
    assert synched is False
    assert [s["available"] for s in statuses] == [False, False]


def test_nodes_are_asked_through_their_adapters_and_the_answer_is_kept_a_while():
    with fake_chain("bitcoin") as bitcoin, fake_chain("monero") as monero:
        bitcoin.height, monero.height = 321, 654
        first = nodes_status(max_age=0)
        assert first["bitcoin"]["height"] == 321
        assert first["monero"] == {
            "ok": True,
            "reachable": True,
            "height": 654,
            "headers": 654,
            "progress": 1.0,
            "synced": True,
            "latency_ms": first["monero"]["latency_ms"],
        }
        bitcoin.height = 400
        assert nodes_status(max_age=3600)["bitcoin"]["height"] == 321
        assert nodes_status(max_age=0)["bitcoin"]["height"] == 400


def test_a_hung_node_is_reported_unreachable_within_the_deadline():
    release = threading.Event()

    def hung(*, timeout):
        release.wait(30)
        return {"reachable": True, "height": 1}

    with fake_chain("bitcoin") as bitcoin, fake_chain("monero"):
        bitcoin.node_status = hung
        started = time.monotonic()
        report = nodes_status(max_age=0)
        elapsed = time.monotonic() - started
        release.set()
    assert elapsed < DEADLINE_SECONDS + 0.5
    assert report["bitcoin"]["reachable"] is False
    assert "no answer" in report["bitcoin"]["error"]
    assert report["monero"]["reachable"] is True
    synched, _ = sync_status(report, {})
    assert synched is False
