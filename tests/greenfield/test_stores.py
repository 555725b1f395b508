"""Stores through Greenfield: a key reads the stores it is for, and a store it may not
see is not found, exactly as a store that does not exist."""

from __future__ import annotations

import pytest

from stores import permissions as p
from tests.merchants import key_for, make_merchant, make_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant():
    return make_merchant()


def assert_store_not_found(response):
    assert response.status_code == 404, response.content
    assert response.json() == {"code": "store-not-found", "message": "Store not found"}


def assert_missing(response, permission):
    assert response.status_code == 403, response.content
    body = response.json()
    assert (body["code"], body["missingPermission"]) == ("missing-permission", permission)
    assert permission in body["message"]


def test_a_store_as_greenfield_has_it(merchant):
    store = make_store(
        merchant,
        name="Corner shop",
        default_currency="EUR",
        speed_policy="LowSpeed",
        invoice_expiration_minutes=20,
        monitoring_minutes=60,
        payment_methods=["XMR-CHAIN"],
        lazy_payment_methods=True,
    )
    _, api = key_for(merchant, f"{p.CAN_VIEW_STORE_SETTINGS}:{store.public_id}")

    body = api.get(f"/api/v1/stores/{store.public_id}").json()

    assert body["id"] == store.public_id
    assert body["name"] == "Corner shop"
    assert body["defaultCurrency"] == "EUR"
    assert body["speedPolicy"] == "LowSpeed"
    assert body["invoiceExpiration"] == 1200
    assert body["monitoringExpiration"] == 3600
    assert body["lazyPaymentMethods"] is True
    assert body["defaultPaymentMethod"] == "XMR-CHAIN"
    assert body["archived"] is False
    assert body["website"] is None
    assert body["anyoneCanCreateInvoice"] is False
    assert all("_" not in name for name in body)


def test_a_key_for_store_a_cannot_read_store_b(merchant):
    a, b = make_store(merchant, name="A"), make_store(merchant, name="B")
    _, api = key_for(merchant, f"{p.CAN_MODIFY_STORE_SETTINGS}:{a.public_id}")

    assert api.get(f"/api/v1/stores/{a.public_id}").status_code == 200
    for path in (f"/api/v1/stores/{b.public_id}", f"/api/v1/stores/{b.public_id}/payment-methods"):
        assert_store_not_found(api.get(path))
    assert [s["id"] for s in api.get("/api/v1/stores").json()] == [a.public_id]


def test_an_unscoped_key_sees_all_its_owners_stores_and_no_one_elses(merchant):
    a, b = make_store(merchant, name="A"), make_store(merchant, name="B")
    other = make_store(make_merchant(), name="C")
    _, api = key_for(merchant, p.CAN_VIEW_STORE_SETTINGS)

    assert [s["id"] for s in api.get("/api/v1/stores").json()] == [a.public_id, b.public_id]
    assert api.get(f"/api/v1/stores/{b.public_id}").status_code == 200
    assert_store_not_found(api.get(f"/api/v1/stores/{other.public_id}"))


def test_an_unknown_store_and_an_unreachable_one_answer_alike(merchant):
    mine = make_store(merchant)
    theirs = make_store(make_merchant())
    _, api = key_for(merchant, f"{p.CAN_VIEW_STORE_SETTINGS}:{mine.public_id}")
    unknown = api.get("/api/v1/stores/" + "1" * 44)
    hidden = api.get(f"/api/v1/stores/{theirs.public_id}")
    assert (unknown.status_code, unknown.content) == (hidden.status_code, hidden.content)
    assert_store_not_found(hidden)


def test_a_store_the_key_sees_but_without_the_permission_is_403(merchant):
    store = make_store(merchant)
    _, api = key_for(merchant, f"{p.CAN_VIEW_INVOICES}:{store.public_id}")
    assert_missing(api.get(f"/api/v1/stores/{store.public_id}"), p.CAN_VIEW_STORE_SETTINGS)
    assert_missing(api.get("/api/v1/stores"), p.CAN_VIEW_STORE_SETTINGS)


def test_modifying_store_settings_implies_viewing_them(merchant):
    store = make_store(merchant)
    _, api = key_for(merchant, f"{p.CAN_MODIFY_STORE_SETTINGS}:{store.public_id}")
    assert api.get(f"/api/v1/stores/{store.public_id}").status_code == 200


def test_payment_methods_say_which_the_store_offers(merchant):
    store = make_store(merchant, payment_methods=["XMR-CHAIN"])
    _, api = key_for(merchant, f"{p.CAN_VIEW_STORE_SETTINGS}:{store.public_id}")
    path = f"/api/v1/stores/{store.public_id}/payment-methods"

    assert api.get(path).json() == [
        {"paymentMethodId": "BTC-CHAIN", "enabled": False, "config": None},
        {"paymentMethodId": "XMR-CHAIN", "enabled": True, "config": None},
    ]
    assert api.get(path, {"onlyEnabled": "true"}).json() == [
        {"paymentMethodId": "XMR-CHAIN", "enabled": True, "config": None}
    ]
    assert len(api.get(path, {"onlyEnabled": "false", "somethingElse": "1"}).json()) == 2


def test_the_payment_method_config_needs_the_modify_permission(merchant):
    store = make_store(merchant)
    _, viewer = key_for(merchant, f"{p.CAN_VIEW_STORE_SETTINGS}:{store.public_id}")
    _, owner = key_for(merchant, f"{p.CAN_MODIFY_STORE_SETTINGS}:{store.public_id}")
    path = f"/api/v1/stores/{store.public_id}/payment-methods?includeConfig=true"

    assert_missing(viewer.get(path), p.CAN_MODIFY_STORE_SETTINGS)
    configs = {m["paymentMethodId"]: m["config"] for m in owner.get(path).json()}
    assert configs == {
        "BTC-CHAIN": {"cryptoCode": "BTC", "network": "regtest"},
        "XMR-CHAIN": {"cryptoCode": "XMR", "network": "regtest"},
    }


def test_a_bad_query_value_is_a_422_naming_it(merchant):
    store = make_store(merchant)
    _, api = key_for(merchant, f"{p.CAN_VIEW_STORE_SETTINGS}:{store.public_id}")
    response = api.get(f"/api/v1/stores/{store.public_id}/payment-methods?onlyEnabled=perhaps")
    assert response.status_code == 422
    [error] = response.json()
    assert error["path"] == "onlyEnabled"
    assert error["message"]


def test_the_current_key_is_given_back_as_it_was_made(merchant):
    store = make_store(merchant)
    permissions = [
        f"{p.CAN_VIEW_INVOICES}:{store.public_id}",
        f"{p.CAN_CREATE_INVOICE}:{store.public_id}",
        f"{p.CAN_MODIFY_INVOICES}:{store.public_id}",
    ]
    key, api = key_for(merchant, *permissions, label="WooCommerce")

    body = api.get("/api/v1/api-keys/current").json()

    assert body == {"apiKey": key.plaintext, "label": "WooCommerce", "permissions": permissions}
    assert body["permissions"][0].split(":")[1] == store.public_id  # how plugins find it


def test_a_key_revokes_itself(merchant):
    _, api = key_for(merchant, p.CAN_VIEW_INVOICES)
    assert api.delete("/api/v1/api-keys/current").status_code == 200
    assert api.get("/api/v1/api-keys/current").status_code == 401
