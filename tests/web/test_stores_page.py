"""The merchant's stores page through Django's test client (no browser): stores made,
keys made for a store and shown once, keys revoked, each only by their owner."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from stores import permissions as p
from stores.models import ApiKey, Store
from stores.services import api_key_authenticate
from tests.merchants import greenfield, key_for, make_merchant, make_store

pytestmark = pytest.mark.django_db

WOO = [
    p.CAN_VIEW_INVOICES,
    p.CAN_CREATE_INVOICE,
    p.CAN_VIEW_STORE_SETTINGS,
    p.CAN_MODIFY_INVOICES,
]


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def new_key(response) -> str:
    return re.search(r'id="new-key">([0-9a-f]{40})<', response.content.decode()).group(1)


def test_the_page_needs_a_login():
    client = Client()
    response = client.get("/account/stores/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/account/stores/"
    assert client.post("/account/stores/keys/", {"label": "x"}).status_code == 302
    assert client.post("/account/stores/keys/1/revoke/").status_code == 302


def test_a_merchant_makes_a_store_on_the_page():
    merchant = make_merchant()
    client = signed_in(merchant)

    response = client.post(
        "/account/stores/",
        {
            "name": "Corner shop",
            "default_currency": "eur",
            "speed_policy": "LowSpeed",
            "payment_methods": ["BTC-CHAIN", "XMR-CHAIN"],
            "settlement": "payout",
        },
        follow=True,
    )

    store = Store.objects.get(owner=merchant)
    assert (store.name, store.default_currency, store.speed_policy) == (
        "Corner shop",
        "EUR",
        "LowSpeed",
    )
    assert store.public_id in response.content.decode()
    refused = client.post("/account/stores/", {"name": "", "payment_methods": []})
    assert refused.status_code == 400
    assert Store.objects.filter(owner=merchant).count() == 1


def test_a_key_for_a_store_is_shown_once_and_works():
    merchant = make_merchant()
    store = make_store(merchant)
    client = signed_in(merchant)

    created = client.post(
        "/account/stores/keys/",
        {"label": "WooCommerce", "store": store.public_id, "policies": WOO},
    )

    assert created.status_code == 200
    plaintext = new_key(created)
    key = ApiKey.objects.get(owner=merchant)
    assert api_key_authenticate(plaintext=plaintext) == key
    assert key.permissions == [
        f"{policy}:{store.public_id}" for policy in p.POLICIES if policy in WOO
    ]
    assert "no-store" in created["Cache-Control"]
    later = client.get("/account/stores/").content.decode()
    assert plaintext not in later
    assert key.prefix in later
    current = greenfield(plaintext).get("/api/v1/api-keys/current").json()
    assert current["permissions"][0].split(":")[1] == store.public_id


def test_a_key_for_all_stores_is_unscoped():
    merchant = make_merchant()
    make_store(merchant)
    client = signed_in(merchant)
    client.post(
        "/account/stores/keys/", {"label": "all", "store": "", "policies": [p.CAN_VIEW_INVOICES]}
    )
    assert ApiKey.objects.get(owner=merchant).permissions == [p.CAN_VIEW_INVOICES]


def test_a_key_cannot_name_another_merchants_store():
    merchant = make_merchant()
    make_store(merchant)
    theirs = make_store(make_merchant())
    response = signed_in(merchant).post(
        "/account/stores/keys/",
        {"label": "x", "store": theirs.public_id, "policies": [p.CAN_VIEW_INVOICES]},
    )
    assert response.status_code == 400
    assert not ApiKey.objects.filter(owner=merchant).exists()


def test_the_page_revokes_a_key_and_nobody_else_can():
    merchant = make_merchant()
    key, _ = key_for(merchant, p.CAN_VIEW_INVOICES)
    assert (
        signed_in(make_merchant()).post(f"/account/stores/keys/{key.id}/revoke/").status_code == 404
    )
    assert api_key_authenticate(plaintext=key.plaintext) == key

    response = signed_in(merchant).post(f"/account/stores/keys/{key.id}/revoke/", follow=True)
    assert response.status_code == 200
    assert "revoked" in response.content.decode()
    assert api_key_authenticate(plaintext=key.plaintext) is None


def test_the_forms_need_a_csrf_token():
    merchant = make_merchant()
    key, _ = key_for(merchant, p.CAN_VIEW_INVOICES)
    strict = signed_in(merchant, enforce_csrf_checks=True)
    assert strict.post("/account/stores/", {"name": "x"}).status_code == 403
    assert strict.post("/account/stores/keys/", {"label": "x"}).status_code == 403
    assert strict.post(f"/account/stores/keys/{key.id}/revoke/").status_code == 403
    assert api_key_authenticate(plaintext=key.plaintext) == key
