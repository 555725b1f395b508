"""Greenfield API keys: random, hashed at rest, shown once, found in constant time,
revocable, and allowed only what their permissions say on their owner's stores."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.db import connection

from exchange.errors import ApplicationError, ConflictError, NotFoundError
from stores import permissions as p
from stores import services
from stores.models import ApiKey
from stores.services import api_key_allows, api_key_authenticate, api_key_create, api_key_revoke
from tests.merchants import make_merchant, make_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant():
    return make_merchant()


def test_a_key_is_40_hex_characters_and_only_its_digest_is_stored(merchant):
    store = make_store(merchant)
    key, plaintext = api_key_create(
        owner=merchant, label="woo", permissions=[f"{p.CAN_VIEW_INVOICES}:{store.public_id}"]
    )

    assert re.fullmatch(r"[0-9a-f]{40}", plaintext)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM stores_apikey WHERE id = %s", [key.id])
        row = cursor.fetchone()
    assert row is not None
    assert not any(plaintext in str(value) for value in row)
    assert not any(plaintext.upper() in str(value).upper() for value in row)
    assert key.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert key.prefix == plaintext[:8]
    assert api_key_authenticate(plaintext=plaintext) == key


def test_two_keys_are_never_the_same(merchant):
    plaintexts = {
        api_key_create(owner=merchant, label=f"k{i}", permissions=[p.CAN_VIEW_INVOICES])[1]
        for i in range(5)
    }
    assert len(plaintexts) == 5


def test_unknown_malformed_and_revoked_keys_are_refused(merchant):
    key, plaintext = api_key_create(owner=merchant, label="woo", permissions=[p.CAN_VIEW_INVOICES])
    wrong = plaintext[:8] + ("0" if plaintext[8] != "0" else "1") + plaintext[9:]

    for refused in (wrong, plaintext[:-1], plaintext + "0", "", "x" * 40, f"token {plaintext}"):
        assert api_key_authenticate(plaintext=refused) is None, refused
    assert api_key_authenticate(plaintext=plaintext.upper()) == key

    api_key_revoke(owner=merchant, key_id=key.id)
    assert api_key_authenticate(plaintext=plaintext) is None
    key.refresh_from_db()
    assert not api_key_allows(key=key, permission=p.CAN_VIEW_INVOICES, store=None)
    with pytest.raises(NotFoundError):
        api_key_revoke(owner=merchant, key_id=key.id)


def test_a_key_of_a_deactivated_user_is_refused(merchant):
    _, plaintext = api_key_create(owner=merchant, label="woo", permissions=[p.CAN_VIEW_INVOICES])
    merchant.is_active = False
    merchant.save(update_fields=["is_active"])
    assert api_key_authenticate(plaintext=plaintext) is None


def test_nobody_revokes_another_merchants_key(merchant):
    key, plaintext = api_key_create(owner=merchant, label="woo", permissions=[p.CAN_VIEW_INVOICES])
    with pytest.raises(NotFoundError):
        api_key_revoke(owner=make_merchant(), key_id=key.id)
    assert api_key_authenticate(plaintext=plaintext) == key


def test_every_key_with_the_prefix_is_compared_in_constant_time(merchant, monkeypatch):
    """Two rows share the first characters: both digests are compared, each with
    hmac.compare_digest, whichever matches, so the time taken tells nothing."""
    first, plaintext = api_key_create(owner=merchant, label="a", permissions=[p.CAN_VIEW_INVOICES])
    second, _ = api_key_create(owner=merchant, label="b", permissions=[p.CAN_VIEW_INVOICES])
    ApiKey.objects.filter(pk=second.pk).update(prefix=first.prefix)
    compared = []
    real = services.hmac.compare_digest

    def counting(a, b):
        compared.append(a)
        return real(a, b)

    monkeypatch.setattr(services.hmac, "compare_digest", counting)
    assert api_key_authenticate(plaintext=plaintext) == first
    assert sorted(compared) == sorted([first.key_hash, second.key_hash])


def test_use_is_recorded_at_most_once_a_minute(merchant):
    key, plaintext = api_key_create(owner=merchant, label="a", permissions=[p.CAN_VIEW_INVOICES])
    assert key.last_used_at is None
    api_key_authenticate(plaintext=plaintext)
    key.refresh_from_db()
    first_use = key.last_used_at
    assert first_use is not None
    api_key_authenticate(plaintext=plaintext)
    key.refresh_from_db()
    assert key.last_used_at == first_use


def test_a_key_names_only_its_owners_stores_and_offered_permissions(merchant):
    mine = make_store(merchant)
    theirs = make_store(make_merchant())
    cases = [
        [f"{p.CAN_VIEW_INVOICES}:{theirs.public_id}"],
        [f"{p.CAN_VIEW_INVOICES}:NoSuchStore"],
        ["btcpay.store.canviewpullpayments"],
        ["unrestricted"],
        ["btcpay.server.canmodifyserversettings"],
        [f"{p.CAN_VIEW_INVOICES}:"],
        [],
        "btcpay.store.canviewinvoices",
    ]
    for permissions in cases:
        with pytest.raises(ApplicationError) as refused:
            api_key_create(owner=merchant, label="k", permissions=permissions)
        assert refused.value.field == "permissions", permissions
    assert not ApiKey.objects.filter(owner=merchant).exists()

    key, _ = api_key_create(
        owner=merchant,
        label="k",
        permissions=[
            f"{p.CAN_VIEW_INVOICES}:{mine.public_id}",
            f"BTCPAY.STORE.CANVIEWINVOICES:{mine.public_id}",
            p.CAN_CREATE_INVOICE,
        ],
    )
    assert key.permissions == [f"{p.CAN_VIEW_INVOICES}:{mine.public_id}", p.CAN_CREATE_INVOICE]


def test_a_key_needs_a_label(merchant):
    for label in ("", "   ", "x" * 101):
        with pytest.raises(ApplicationError) as refused:
            api_key_create(owner=merchant, label=label, permissions=[p.CAN_VIEW_INVOICES])
        assert refused.value.field == "label"


def test_a_merchant_holds_a_bounded_number_of_live_keys(merchant, settings):
    settings.GREENFIELD_KEYS_PER_USER = 2
    keys = [
        api_key_create(owner=merchant, label=f"k{i}", permissions=[p.CAN_VIEW_INVOICES])[0]
        for i in range(2)
    ]
    with pytest.raises(ConflictError):
        api_key_create(owner=merchant, label="k3", permissions=[p.CAN_VIEW_INVOICES])
    api_key_revoke(owner=merchant, key_id=keys[0].id)
    api_key_create(owner=merchant, label="k3", permissions=[p.CAN_VIEW_INVOICES])


def test_implied_permissions_are_allowed(merchant):
    store = make_store(merchant)
    key, _ = api_key_create(
        owner=merchant, label="k", permissions=[f"{p.CAN_MODIFY_INVOICES}:{store.public_id}"]
    )
    allowed = {
        policy for policy in p.POLICIES if api_key_allows(key=key, permission=policy, store=store)
    }
    assert allowed == {p.CAN_MODIFY_INVOICES, p.CAN_VIEW_INVOICES, p.CAN_CREATE_INVOICE}

    settings_key, _ = api_key_create(
        owner=merchant, label="s", permissions=[f"{p.CAN_MODIFY_STORE_SETTINGS}:{store.public_id}"]
    )
    assert all(
        api_key_allows(key=settings_key, permission=policy, store=store) for policy in p.POLICIES
    )


def test_a_key_for_store_a_cannot_act_on_store_b(merchant):
    a, b = make_store(merchant, name="A"), make_store(merchant, name="B")
    key, _ = api_key_create(
        owner=merchant, label="k", permissions=[f"{p.CAN_MODIFY_STORE_SETTINGS}:{a.public_id}"]
    )
    assert api_key_allows(key=key, permission=p.CAN_VIEW_INVOICES, store=a)
    assert not api_key_allows(key=key, permission=p.CAN_VIEW_INVOICES, store=b)


def test_an_unscoped_key_acts_on_all_its_owners_stores_and_no_one_elses(merchant):
    a, b = make_store(merchant, name="A"), make_store(merchant, name="B")
    other = make_store(make_merchant(), name="C")
    key, _ = api_key_create(owner=merchant, label="k", permissions=[p.CAN_VIEW_STORE_SETTINGS])
    assert api_key_allows(key=key, permission=p.CAN_VIEW_INVOICES, store=a)
    assert api_key_allows(key=key, permission=p.CAN_VIEW_INVOICES, store=b)
    assert not api_key_allows(key=key, permission=p.CAN_VIEW_INVOICES, store=other)
    assert not api_key_allows(key=key, permission=p.CAN_CREATE_INVOICE, store=a)
