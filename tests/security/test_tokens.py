"""API tokens: hashed at rest, shown once, scoped, expiring, revocable by their owner only."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.crypto import hash_token
from rest_framework.test import APIClient

from exchange.auth import ApiTokenAuthentication
from exchange.legacy_tokens import legacy_tokens_move
from exchange.models import ApiToken, ApiTokenScope, AuditLog
from exchange.services import api_token_create
from orders.models import EscrowOrder
from tests.flows import AMOUNT


def token_client(secret: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return api


def signed_in(person) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def test_only_a_digest_is_stored_and_the_token_works(buyer):
    token, secret = api_token_create(user=buyer.user, name="watcher", scope=ApiTokenScope.READ)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM exchange_apitoken WHERE id = %s", [token.id])
        row = cursor.fetchone()
    assert row is not None
    assert not any(secret in str(value) for value in row)
    assert ApiToken.objects.get(id=token.id).digest == hash_token(secret)
    assert len(secret) == 64

    assert token_client(secret).get("/api/orders").status_code == 200


def test_a_read_token_reads_but_writes_nothing(buyer, vendor):
    _, secret = api_token_create(user=buyer.user, name="watcher", scope=ApiTokenScope.READ)
    reader = token_client(secret)
    order = {"currency": "BTC", "amount": str(AMOUNT["BTC"]), "vendor": vendor.user.username}

    assert reader.get("/api/orders").status_code == 200
    refused = reader.post("/api/orders", order, format="json")
    assert refused.status_code == 403
    assert "scope is read" in refused.json()["scope"][0]
    assert not EscrowOrder.objects.filter(buyer=buyer.user).exists()

    minted = reader.post("/api/tokens", {"name": "more", "scope": "write"}, format="json")
    assert minted.status_code == 403
    assert ApiToken.objects.filter(user=buyer.user).count() == 2  # make_person's and this one

    # The same request with the buyer's write token is accepted.
    assert buyer.api.post("/api/orders", order, format="json").status_code == 201


def test_an_expired_token_is_refused(buyer):
    token, secret = api_token_create(user=buyer.user, name="old", scope=ApiTokenScope.WRITE)
    ApiToken.objects.filter(id=token.id).update(expiry=timezone.now() - timedelta(seconds=1))

    response = token_client(secret).get("/api/orders")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert not ApiToken.objects.filter(id=token.id).exists()


def test_a_token_is_found_in_one_query_however_many_its_user_has(buyer):
    for i in range(4):
        api_token_create(user=buyer.user, name=f"shop {i}", scope=ApiTokenScope.READ)
    token, secret = api_token_create(user=buyer.user, name="mine", scope=ApiTokenScope.WRITE)

    with CaptureQueriesContext(connection) as queries:
        user, found = ApiTokenAuthentication().authenticate_credentials(secret.encode())

    assert (user.id, found.id) == (buyer.user.id, token.id)
    assert len(queries) == 1


def test_a_revoked_token_is_refused_at_once(buyer):
    token, secret = api_token_create(user=buyer.user, name="gone", scope=ApiTokenScope.WRITE)
    api = token_client(secret)
    assert api.get("/api/orders").status_code == 200

    assert buyer.api.delete(f"/api/tokens/{token.id}").status_code == 204

    assert api.get("/api/orders").status_code == 401
    assert not ApiToken.objects.filter(id=token.id).exists()


def test_unknown_and_malformed_tokens_are_401(live_db):
    for header in ("Token nope", "Token " + "a" * 64, "Token caf\u00e9", "Token a b"):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=header)
        assert api.get("/api/orders").status_code == 401, header


def test_the_api_shows_a_new_token_once(buyer):
    created = buyer.api.post(
        "/api/tokens", {"name": "shop", "scope": "read", "days": 7}, format="json"
    )

    assert created.status_code == 201
    body = created.json()
    secret = body["token"]
    assert body["scope"] == "read"
    assert created["Cache-Control"] == "no-store"
    assert timedelta(days=6) < ApiToken.objects.get(id=body["id"]).expiry - timezone.now()
    assert token_client(secret).get("/api/orders").status_code == 200

    listed = buyer.api.get("/api/tokens")
    assert listed.status_code == 200
    assert secret not in listed.content.decode()
    shop = next(t for t in listed.json() if t["id"] == body["id"])
    assert set(shop) == {"id", "name", "scope", "prefix", "created", "expiry"}
    assert secret.startswith(shop["prefix"])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"scope": "read"}, "name"),
        ({"name": "x", "scope": "admin"}, "scope"),
        ({"name": "x", "scope": "read", "days": 0}, "days"),
        ({"name": "x", "scope": "read", "days": 100_000}, "days"),
    ],
)
def test_bad_token_input_is_400_naming_the_field(buyer, data, field):
    response = buyer.api.post("/api/tokens", data, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_the_page_shows_a_new_token_once(buyer):
    client = signed_in(buyer)

    created = client.post("/account/tokens/", {"name": "page", "scope": "write", "days": "30"})

    assert created.status_code == 200
    token = ApiToken.objects.get(user=buyer.user, name="page")
    secret = re.search(r'id="new-token">([0-9a-f]{64})<', created.content.decode()).group(1)
    assert token.digest == hash_token(secret)
    assert "no-store" in created["Cache-Control"]
    later = client.get("/account/tokens/")
    assert later.status_code == 200
    assert "page" in later.content.decode()
    assert secret not in later.content.decode()
    assert token.prefix in later.content.decode()


def test_the_page_revokes_and_refuses_a_blank_name(buyer):
    client = signed_in(buyer)
    token, secret = api_token_create(user=buyer.user, name="mine", scope=ApiTokenScope.READ)

    assert (
        client.post("/account/tokens/", {"name": " ", "scope": "read", "days": "5"}).status_code
        == 400
    )
    response = client.post(f"/account/tokens/{token.id}/revoke/")

    assert response.status_code == 302
    assert not ApiToken.objects.filter(id=token.id).exists()
    assert token_client(secret).get("/api/orders").status_code == 401


def test_token_forms_need_a_csrf_token(buyer):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(buyer.user)
    token, _ = api_token_create(user=buyer.user, name="kept", scope=ApiTokenScope.READ)

    assert strict.post("/account/tokens/", {"name": "x", "scope": "write"}).status_code == 403
    assert strict.post(f"/account/tokens/{token.id}/revoke/").status_code == 403
    assert ApiToken.objects.filter(id=token.id).exists()
    assert not ApiToken.objects.filter(user=buyer.user, name="x").exists()


def test_nobody_revokes_another_users_token(buyer, stranger):
    token, secret = api_token_create(user=buyer.user, name="mine", scope=ApiTokenScope.WRITE)

    assert stranger.api.delete(f"/api/tokens/{token.id}").status_code == 404
    assert signed_in(stranger).post(f"/account/tokens/{token.id}/revoke/").status_code == 404
    assert token.id not in [t["id"] for t in stranger.api.get("/api/tokens").json()]
    assert token_client(secret).get("/api/orders").status_code == 200


def test_staff_revoke_in_the_admin_and_it_is_audited(buyer, staff):
    token, secret = api_token_create(user=buyer.user, name="leaked", scope=ApiTokenScope.WRITE)
    staff.user.is_superuser = True
    staff.user.save()
    admin = signed_in(staff)

    listing = admin.get("/admin/exchange/apitoken/")
    assert listing.status_code == 200
    assert token.digest not in listing.content.decode()
    response = admin.post(
        "/admin/exchange/apitoken/", {"action": "revoke", "_selected_action": [token.id]}
    )

    assert response.status_code == 302
    assert token_client(secret).get("/api/orders").status_code == 401
    audit = AuditLog.objects.get(object_type="exchange.apitoken", object_id=str(token.id))
    assert audit.actor == staff.user
    assert audit.data["user_id"] == buyer.user.id


def test_old_plaintext_tokens_are_moved_hashed_and_keep_working(buyer):
    key = "0123456789abcdef0123456789abcdef01234567"  # a DRF authtoken key: 40 hex
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (`key` varchar(40) PRIMARY KEY,"
            " created datetime(6) NOT NULL, user_id integer NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, '2024-01-02 03:04:05', %s)",
            [key, buyer.user.id],
        )
    try:
        moved = legacy_tokens_move(connection=connection, token_model=ApiToken)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS authtoken_token")

    assert moved == 1
    assert "authtoken_token" not in connection.introspection.table_names()
    token = ApiToken.objects.get(user=buyer.user, token_key=key[:15])
    assert token.digest == hash_token(key)
    assert token.scope == ApiTokenScope.WRITE
    assert token.created.year == 2024
    assert token.expiry > timezone.now() + timedelta(days=80)
    assert (
        token_client(key)
        .post("/api/tokens", {"name": "n", "scope": "read"}, format="json")
        .status_code
        == 201
    )
    assert legacy_tokens_move(connection=connection, token_model=ApiToken) == 0


def test_the_token_page_needs_a_login(live_db):
    client = Client()
    response = client.get("/account/tokens/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/account/tokens/"
    assert client.post("/account/tokens/1/revoke/").status_code == 302


def test_a_user_holds_a_bounded_number_of_live_tokens(buyer, settings):
    settings.API_TOKENS_PER_USER = 3  # make_person's token is one
    old, _ = api_token_create(user=buyer.user, name="old", scope=ApiTokenScope.READ)
    api_token_create(user=buyer.user, name="two", scope=ApiTokenScope.READ)

    refused = buyer.api.post("/api/tokens", {"name": "four", "scope": "read"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "too_many_tokens"

    # An expired token no longer counts (and is deleted).
    ApiToken.objects.filter(id=old.id).update(expiry=timezone.now() - timedelta(seconds=1))
    again = buyer.api.post("/api/tokens", {"name": "four", "scope": "read"}, format="json")
    assert again.status_code == 201
    assert not ApiToken.objects.filter(id=old.id).exists()
