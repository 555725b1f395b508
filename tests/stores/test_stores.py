"""Stores: made and changed through the services, within Greenfield's bounds."""

from __future__ import annotations

import pytest

from exchange.errors import ApplicationError, ConflictError
from stores.models import Settlement, SpeedPolicy, Store
from stores.services import store_create, store_update
from tests.merchants import make_merchant

pytestmark = pytest.mark.django_db


def test_a_store_has_a_greenfield_id_and_the_defaults():
    owner = make_merchant()
    store = store_create(owner=owner, name="  Corner shop ")
    assert len(store.public_id) == 44
    assert store.name == "Corner shop"
    assert store.payment_methods == ["BTC-CHAIN", "XMR-CHAIN"]
    assert store.speed_policy == SpeedPolicy.MEDIUM
    assert store.settlement == Settlement.PAYOUT
    assert Store.objects.get(public_id=store.public_id).owner == owner


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"default_currency": "us"}, "default_currency"),
        ({"default_currency": "US-D"}, "default_currency"),
        ({"speed_policy": "Fast"}, "speed_policy"),
        ({"settlement": "cash"}, "settlement"),
        ({"invoice_expiration_minutes": 0}, "invoice_expiration_minutes"),
        ({"invoice_expiration_minutes": True}, "invoice_expiration_minutes"),
        ({"monitoring_minutes": 5}, "monitoring_minutes"),
        ({"payment_methods": []}, "payment_methods"),
        ({"payment_methods": ["BTC-LN"]}, "payment_methods"),
        ({"payment_methods": "BTC-CHAIN"}, "payment_methods"),
    ],
)
def test_bad_store_settings_are_refused_by_field(changes, field):
    fields = {"name": "Shop", **changes}
    with pytest.raises(ApplicationError) as refused:
        store_create(owner=make_merchant(), **fields)
    assert refused.value.field == field


def test_payment_methods_keep_the_registry_order_and_the_currency_is_upper_case():
    store = store_create(
        owner=make_merchant(),
        name="Shop",
        default_currency="eur",
        payment_methods=["XMR-CHAIN", "BTC-CHAIN", "XMR-CHAIN"],
    )
    assert store.default_currency == "EUR"
    assert store.payment_methods == ["BTC-CHAIN", "XMR-CHAIN"]


def test_a_merchant_has_a_bounded_number_of_stores(settings):
    settings.STORES_PER_USER = 2
    owner = make_merchant()
    store_create(owner=owner, name="A")
    store_create(owner=owner, name="B")
    with pytest.raises(ConflictError):
        store_create(owner=owner, name="C")


def test_an_update_changes_what_it_names_and_keeps_the_rest():
    store = store_create(owner=make_merchant(), name="Shop", invoice_expiration_minutes=30)
    store_update(store=store, payment_methods=["XMR-CHAIN"], archived=True)
    store.refresh_from_db()
    assert store.payment_methods == ["XMR-CHAIN"]
    assert store.archived is True
    assert store.invoice_expiration_minutes == 30
    with pytest.raises(ApplicationError):
        store_update(store=store, speed_policy="Instant")
