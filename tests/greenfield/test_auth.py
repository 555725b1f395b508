"""Who may call /api/v1/: API keys only (``Authorization: token <key>``); anything else
is Greenfield's 401, except the anonymous health check."""

from __future__ import annotations

import base64

import pytest

from exchange.models import ApiTokenScope
from exchange.services import api_token_create
from stores import permissions as p
from stores.services import api_key_revoke
from tests.merchants import greenfield, key_for, make_merchant, make_store

pytestmark = pytest.mark.django_db

PRIVATE = [
    "/api/v1/server/info",
    "/api/v1/api-keys/current",
    "/api/v1/stores",
    "/api/v1/stores/{store}",
    "/api/v1/stores/{store}/payment-methods",
]


@pytest.fixture
def merchant():
    return make_merchant()


def assert_unauthenticated(response):
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["code"] == "unauthenticated"
    assert body["message"]
    assert set(body) == {"code", "message"}
    assert response["WWW-Authenticate"] == "token"


@pytest.mark.parametrize("route", PRIVATE)
def test_every_private_route_refuses_a_call_without_a_key(merchant, route):
    path = route.format(store=make_store(merchant).public_id)
    for form in (path, path + "/"):
        assert_unauthenticated(greenfield().get(form))


def test_unknown_revoked_and_malformed_keys_are_401(merchant):
    store = make_store(merchant)
    key, api = key_for(merchant, p.CAN_VIEW_STORE_SETTINGS)
    assert api.get(f"/api/v1/stores/{store.public_id}").status_code == 200

    for bad in ("0" * 40, key.plaintext[:-1], "", "not-a-key"):
        assert_unauthenticated(greenfield(bad).get("/api/v1/stores"))
    api_key_revoke(owner=merchant, key_id=key.id)
    assert_unauthenticated(api.get(f"/api/v1/stores/{store.public_id}"))


def test_other_schemes_are_refused(merchant):
    key, _ = key_for(merchant, p.CAN_VIEW_STORE_SETTINGS)
    _, knox_token = api_token_create(user=merchant, name="engine", scope=ApiTokenScope.WRITE)
    basic = base64.b64encode(f"{merchant.username}:password".encode()).decode()
    for header in (
        f"Basic {basic}",
        f"Bearer {key.plaintext}",
        f"Token {knox_token}",
        key.plaintext,
    ):
        api = greenfield()
        api.credentials(HTTP_AUTHORIZATION=header)
        assert_unauthenticated(api.get("/api/v1/stores"))


def test_the_scheme_is_read_in_any_case(merchant):
    key, _ = key_for(merchant, p.CAN_VIEW_STORE_SETTINGS)
    api = greenfield()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key.plaintext}")
    assert api.get("/api/v1/stores").status_code == 200


def test_a_session_does_not_authenticate_greenfield(merchant):
    api = greenfield()
    api.force_login(merchant)
    assert_unauthenticated(api.get("/api/v1/stores"))


def test_health_is_anonymous_even_with_a_bad_key():
    for api in (greenfield(), greenfield("0" * 40)):
        for path in ("/api/v1/health", "/api/v1/health/"):
            response = api.get(path)
            assert response.status_code == 200
            assert set(response.json()) == {"synchronized"}
            assert isinstance(response.json()["synchronized"], bool)
