"""Every Greenfield route answers with and without a trailing slash, and nothing under
/api/v1/ is redirected (a redirect drops a POST's body); the engine's own routes are as
they were."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from exchange.models import ApiTokenScope
from exchange.services import api_token_create
from stores import permissions as p
from tests.merchants import key_for, make_merchant, make_store

pytestmark = pytest.mark.django_db

ROUTES = [
    "/api/v1/server/info",
    "/api/v1/health",
    "/api/v1/api-keys/current",
    "/api/v1/stores",
    "/api/v1/stores/{store}",
    "/api/v1/stores/{store}/payment-methods",
]
REDIRECTS = {301, 302, 303, 307, 308}


@pytest.fixture
def shop():
    merchant = make_merchant()
    store = make_store(merchant)
    key, api = key_for(merchant, f"{p.CAN_MODIFY_STORE_SETTINGS}:{store.public_id}")
    return store, api


@pytest.mark.parametrize("route", ROUTES)
def test_each_route_answers_the_same_with_and_without_the_slash(shop, route, settings):
    settings.GREENFIELD_SYNC_CACHE_SECONDS = 3600  # both calls read the same node report
    store, api = shop
    path = route.format(store=store.public_id)
    plain, slashed = api.get(path), api.get(path + "/")
    assert plain.status_code == slashed.status_code == 200
    assert plain.json() == slashed.json()
    assert plain["Content-Type"] == "application/json"


@pytest.mark.parametrize("route", ROUTES)
def test_a_post_is_never_redirected(shop, route):
    store, api = shop
    path = route.format(store=store.public_id)
    for form in (path, path + "/"):
        response = api.post(form, {"amount": "1"}, format="json")
        assert response.status_code == 405, (form, response.status_code)
        assert response.json()["code"] == "method-not-allowed"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1",
        "/api/v1/",
        "/api/v1/nothing",
        "/api/v1/stores/{store}/invoices/x/nothing",
        "/api/v1/stores/{store}/invoices/x/nothing/",
    ],
)
def test_a_path_not_served_yet_is_greenfields_404_for_every_method(shop, path):
    store, api = shop
    path = path.format(store=store.public_id)
    for method in ("get", "post", "put", "delete"):
        response = getattr(api, method)(path, {"amount": "1"}, format="json")
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.json()["code"] == "not-found"


def test_the_engines_own_routes_are_unaffected():
    merchant = make_merchant()
    _, secret = api_token_create(user=merchant, name="engine", scope=ApiTokenScope.WRITE)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert api.get("/api/orders").status_code == 200
    assert api.get("/api/").status_code == 200
    assert api.get("/api/orders/").status_code == 404
    # Pages still get Django's slash redirect.
    assert api.get("/orders").status_code in REDIRECTS


def test_unknown_methods_are_405_in_greenfields_shape(shop):
    store, api = shop
    response = api.patch(f"/api/v1/stores/{store.public_id}", {}, format="json")
    assert response.status_code == 405
    assert set(response.json()) == {"code", "message"}
