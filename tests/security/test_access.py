"""Who may call what: anonymous, customers, other customers, staff."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from exchange.models import AuditLog
from tests.flows import AMOUNT

# Documented as public (README, "The API"): the rest refuses anonymous callers.
PUBLIC = {
    "api/",
    "api/schema/",
    "api/docs/",
    "api/rates",
    "api/quotes",
    "api/swaps",
    "api/swaps/<uuid:public_id>",
    "api/swaps/<uuid:public_id>/accept",
    "api/swaps/<uuid:public_id>/refund",
    "api/bitcoin/validate-address",
    "api/monero-account/validate-address",
}


def _routes(patterns=None, prefix=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def _concrete(route: str) -> str:
    route = re.sub(r"<int:[a-z_]+>", "1", route)
    return "/" + re.sub(r"<uuid:[a-z_]+>", str(uuid.uuid4()), route)


API_ROUTES = sorted({r for r in _routes() if r.startswith("api/")})


def test_the_public_list_names_real_routes():
    assert set(API_ROUTES) >= PUBLIC


@pytest.mark.django_db
@pytest.mark.parametrize("route", [r for r in API_ROUTES if r not in PUBLIC])
def test_every_private_endpoint_refuses_anonymous_callers(route):
    api = APIClient()
    path = _concrete(route)
    for method in ("get", "post", "patch", "delete"):
        response = getattr(api, method)(path, {}, format="json")
        assert response.status_code in (401, 403, 405), (method, path, response.status_code)
        if response.status_code != 405:
            assert response.status_code == 401, (method, path)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/bitcoin/status", "/api/monero-account/status"])
def test_staff_endpoints_refuse_customers(path, buyer):
    assert buyer.api.get(path).status_code == 403


def test_a_users_swap_is_404_for_everyone_else(
    wallets, buyer, stranger, django_capture_on_commit_callbacks
):
    from rates.services import rates_refresh
    from tests.chain import receiver
    from wallets.services import balances_sync

    with django_capture_on_commit_callbacks(execute=True):
        rates_refresh()
    balances_sync(chain="monero")
    quote = buyer.api.post(
        "/api/quotes",
        {"from_currency": "BTC", "to_currency": "XMR", "amount_from": "1000000"},
        format="json",
    ).json()
    swap = buyer.api.post(
        "/api/swaps",
        {
            "quote_id": quote["id"],
            "payout_address": receiver("monero").address,
            "refund_address": receiver("bitcoin").address,
        },
        format="json",
    ).json()

    assert buyer.api.get(f"/api/swaps/{swap['id']}").status_code == 200
    assert stranger.api.get(f"/api/swaps/{swap['id']}").status_code == 404
    assert APIClient().get(f"/api/swaps/{swap['id']}").status_code == 404
    assert stranger.api.post(f"/api/swaps/{swap['id']}/refund").status_code == 404


def test_throttling_answers_429_with_retry_after(buyer, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "5/min", "anon": "5/min"})
    codes = [buyer.api.get("/api/orders").status_code for _ in range(7)]

    assert codes[:5] == [200] * 5
    assert codes[-1] == 429
    assert int(buyer.api.get("/api/orders")["Retry-After"]) > 0


def test_admin_and_metrics_refuse_unauthenticated_callers(live_db):
    client = Client()
    admin = client.get("/admin/")
    assert admin.status_code == 302
    assert "/admin/login/" in admin["Location"]
    assert client.get("/metrics").status_code == 401
    assert client.get("/admin/operations/").status_code == 302


def test_forms_and_session_api_calls_need_a_csrf_token(live_db, buyer, vendor):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/admin/login/", {"username": "x", "password": "y"}).status_code == 403

    strict.force_login(buyer.user)
    body = {"currency": "BTC", "amount": str(AMOUNT["BTC"]), "vendor": vendor.user.username}
    response = strict.post("/api/orders", body, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_admin_actions_need_staff_and_are_audited(wallets, buyer, staff):
    from tests.factories import assigned_account
    from wallets.models import Payout, PayoutState
    from wallets.services.payouts import payout_retry

    customer = Client()
    customer.force_login(buyer.user)
    refused = customer.post(
        "/admin/orders/escroworder/", {"action": "cancel", "_selected_action": [1]}
    )
    assert refused.status_code == 302
    assert "/admin/login/" in refused["Location"]

    account = assigned_account("bitcoin")
    payout = Payout.objects.create(
        key=f"audit-{uuid.uuid4().hex}",
        chain=account.chain,
        source_account=account,
        owner_kind="test",
        owner_id=1,
        kind="test",
        address="x",
        amount=1,
        state=PayoutState.FAILED,
    )
    payout_retry(payout_id=payout.id, actor=staff.user, reason="node fixed")
    audit = AuditLog.objects.get(object_type="wallets.payout", object_id=str(payout.id))
    assert audit.actor == staff.user
    assert audit.reason == "node fixed"
