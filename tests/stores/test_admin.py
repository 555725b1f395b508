"""Stores and keys in the admin: made through the services, a new key shown once in a
message, keys revoked (with an audit row) and never edited; support staff only look."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from exchange.models import AuditLog
from stores import permissions as p
from stores.models import ApiKey, Store
from stores.services import api_key_authenticate
from tests.merchants import key_for, make_merchant, make_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    user = make_merchant()
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def test_a_key_made_in_the_admin_is_shown_once_and_works(admin_client):
    merchant = make_merchant()
    store = make_store(merchant)
    response = admin_client.post(
        "/admin/stores/apikey/add/",
        {
            "owner": merchant.id,
            "label": "woo",
            "permissions": f"{p.CAN_VIEW_INVOICES}:{store.public_id}\n{p.CAN_CREATE_INVOICE}\n",
        },
        follow=True,
    )
    assert response.status_code == 200
    shown = re.findall(r"\b[0-9a-f]{40}\b", response.content.decode())
    assert len(shown) == 1
    key = ApiKey.objects.get(owner=merchant)
    assert key.permissions == [f"{p.CAN_VIEW_INVOICES}:{store.public_id}", p.CAN_CREATE_INVOICE]
    assert api_key_authenticate(plaintext=shown[0]) == key
    again = admin_client.get(f"/admin/stores/apikey/{key.id}/change/")
    assert again.status_code == 200
    assert shown[0] not in again.content.decode()
    assert key.key_hash not in again.content.decode()


def test_the_admin_refuses_a_key_for_another_merchants_store(admin_client):
    merchant = make_merchant()
    theirs = make_store(make_merchant())
    response = admin_client.post(
        "/admin/stores/apikey/add/",
        {
            "owner": merchant.id,
            "label": "woo",
            "permissions": f"{p.CAN_VIEW_INVOICES}:{theirs.public_id}",
        },
    )
    assert response.status_code == 200
    assert "not yours" in response.content.decode()
    assert not ApiKey.objects.filter(owner=merchant).exists()


def test_staff_revoke_a_key_and_it_is_audited(admin_client):
    merchant = make_merchant()
    key, _ = key_for(merchant, p.CAN_VIEW_INVOICES)
    response = admin_client.post(
        "/admin/stores/apikey/", {"action": "revoke", "_selected_action": [key.id]}
    )
    assert response.status_code == 302
    assert api_key_authenticate(plaintext=key.plaintext) is None
    audit = AuditLog.objects.get(object_type="stores.apikey", object_id=str(key.id))
    assert audit.actor == admin_client.user
    assert audit.data["owner_id"] == merchant.id


def test_a_store_made_in_the_admin_goes_through_the_service(admin_client):
    merchant = make_merchant()
    fields = {
        "owner": merchant.id,
        "name": "Admin shop",
        "default_currency": "eur",
        "speed_policy": "LowSpeed",
        "invoice_expiration_minutes": "30",
        "monitoring_minutes": "600",
        "payment_methods": ["XMR-CHAIN"],
        "settlement": "balance",
    }
    response = admin_client.post("/admin/stores/store/add/", fields)
    assert response.status_code == 302, response.content.decode()[-2000:]
    store = Store.objects.get(owner=merchant)
    assert (store.default_currency, store.payment_methods) == ("EUR", ["XMR-CHAIN"])
    assert len(store.public_id) == 44

    refused = admin_client.post("/admin/stores/store/add/", {**fields, "monitoring_minutes": "1"})
    assert refused.status_code == 200
    assert Store.objects.filter(owner=merchant).count() == 1


def test_support_staff_see_stores_and_keys_and_revoke_nothing():
    support = make_merchant()
    support.is_staff = True
    support.save()
    support.groups.add(Group.objects.get(name="support"))
    key, _ = key_for(make_merchant(), p.CAN_VIEW_INVOICES)
    client = Client()
    client.force_login(support)
    for url in ("/admin/stores/store/", "/admin/stores/apikey/"):
        assert client.get(url).status_code == 200, url
    assert b'value="revoke"' not in client.get("/admin/stores/apikey/").content
    client.post("/admin/stores/apikey/", {"action": "revoke", "_selected_action": [key.id]})
    assert api_key_authenticate(plaintext=key.plaintext) == key
