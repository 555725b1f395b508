"""Server info and health against the real regtest nodes: what a plugin reads to decide
what the server can do, and whether it is in sync."""

from __future__ import annotations

import pytest

from stores import permissions as p
from tests.merchants import greenfield, key_for, make_merchant
from wallets.models import MasterWallet
from wallets.services import master_wallet_ensure


@pytest.fixture
def synced_nodes(regtest, live_db, settings):
    settings.GREENFIELD_SYNC_CACHE_SECONDS = 0
    for chain in ("bitcoin", "monero"):
        master_wallet_ensure(chain=chain)


def test_server_info_says_version_methods_and_sync_of_each_chain(synced_nodes):
    _, api = key_for(make_merchant(), p.CAN_VIEW_INVOICES)

    body = api.get("/api/v1/server/info").json()

    major, minor, patch = (int(part) for part in body["version"].split(".")[:3])
    assert (major, minor, patch) >= (1, 7, 6)
    assert body["onion"] == ""
    assert body["supportedPaymentMethods"] == ["BTC-CHAIN", "XMR-CHAIN"]
    assert body["fullySynched"] is True
    statuses = {s["paymentMethodId"]: s for s in body["syncStatus"]}
    assert set(statuses) == {"BTC-CHAIN", "XMR-CHAIN"}
    for method, status in statuses.items():
        chain = {"BTC-CHAIN": "bitcoin", "XMR-CHAIN": "monero"}[method]
        assert status["available"] is True
        assert status["chainHeight"] > 0
        assert status["nodeInformation"]["blocks"] == status["chainHeight"]
        assert status["nodeInformation"]["verificationProgress"] > 0
        scanned = min(
            MasterWallet.objects.filter(chain=chain, is_active=True).values_list(
                "scanned_height", flat=True
            )
        )
        assert status["syncHeight"] == scanned


def test_health_is_synchronized_for_anyone(synced_nodes):
    assert greenfield().get("/api/v1/health").json() == {"synchronized": True}
