import uuid

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

MAINNET_BTC = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"


@pytest.fixture
def api():
    return APIClient()


def _user(**flags):
    return get_user_model().objects.create_user(username=f"u{uuid.uuid4().hex[:12]}", **flags)


@pytest.mark.django_db
def test_validate_address_is_public_and_names_the_network_problem(api):
    response = api.post("/api/bitcoin/validate-address", {"address": MAINNET_BTC}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "valid": False,
        "network": "mainnet",
        "type": "p2pkh",
        "error": "a mainnet address, but this engine runs bitcoin on regtest",
    }


@pytest.mark.django_db
def test_validate_address_without_an_address_is_a_400_naming_the_field(api):
    response = api.post("/api/monero-account/validate-address", {}, format="json")

    assert response.status_code == 400
    assert "address" in response.json()


@pytest.mark.django_db
def test_chain_status_is_for_staff_only(api):
    assert api.get("/api/bitcoin/status").status_code == 401
    api.force_authenticate(_user())
    assert api.get("/api/bitcoin/status").status_code == 403


def test_chain_status_reports_height_and_pool(api, wallets):
    api.force_authenticate(_user(is_staff=True))

    for path, chain in (
        ("/api/bitcoin/status", "bitcoin"),
        ("/api/monero-account/status", "monero"),
    ):
        body = api.get(path).json()
        assert body["chain"] == chain
        assert body["reachable"] is True
        assert body["height"] > 0
        assert body["pool"]["pooled"] >= 1
        assert body["master_wallets"][0]["name"]
