"""A vendor's payout addresses: set through the API, checked, one row per currency."""

from embit import bech32
from rest_framework.test import APIClient

from exchange.models import ApiTokenScope, AuditLog
from exchange.services import api_token_create
from orders.models import VendorPayoutAddress
from orders.selectors import vendor_payout_address

REGTEST_BTC = bech32.encode("rb", 0, bytes(range(20)))
REGTEST_BTC_OTHER = bech32.encode("rb", 0, bytes(range(1, 21)))
# Monero's regtest takes mainnet-format addresses.
REGTEST_XMR = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
MAINNET_BTC = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"


def test_a_vendor_sets_one_address_per_currency_and_replaces_it(buyer):
    vendor = buyer
    for currency, address in (
        ("BTC", REGTEST_BTC),
        ("XMR", REGTEST_XMR),
        ("BTC", REGTEST_BTC_OTHER),
    ):
        answer = vendor.api.put(
            f"/api/payout-addresses/{currency}", {"address": address}, format="json"
        )
        assert answer.status_code == 200, answer.json()
        assert answer.json()["address"] == address

    listed = vendor.api.get("/api/payout-addresses").json()
    assert [(row["currency"], row["address"]) for row in listed] == [
        ("BTC", REGTEST_BTC_OTHER),
        ("XMR", REGTEST_XMR),
    ]
    assert VendorPayoutAddress.objects.filter(user=vendor.user).count() == 2
    changes = AuditLog.objects.filter(actor=vendor.user, action="vendor.payout_address")
    assert [
        (c.data["currency"], c.data["previous"], c.data["address"]) for c in changes.order_by("id")
    ] == [
        ("BTC", "", REGTEST_BTC),
        ("XMR", "", REGTEST_XMR),
        ("BTC", REGTEST_BTC, REGTEST_BTC_OTHER),
    ]
    assert vendor_payout_address(vendor_id=vendor.user.id, currency="BTC") == REGTEST_BTC_OTHER


def test_a_bad_address_or_currency_is_refused_naming_the_field_and_nothing_is_written(buyer):
    for currency, address, field in (
        ("BTC", MAINNET_BTC, "address"),
        ("BTC", "not-an-address", "address"),
        ("XMR", REGTEST_BTC, "address"),
        ("DOGE", REGTEST_BTC, "currency"),
    ):
        answer = buyer.api.put(
            f"/api/payout-addresses/{currency}", {"address": address}, format="json"
        )
        assert answer.status_code == 400, (currency, address)
        assert field in str(answer.json()), answer.json()
    assert not VendorPayoutAddress.objects.filter(user=buyer.user).exists()


def test_a_read_token_cannot_redirect_a_vendors_payouts(buyer):
    buyer.api.put("/api/payout-addresses/BTC", {"address": REGTEST_BTC}, format="json")
    _, secret = api_token_create(user=buyer.user, name="read", scope=ApiTokenScope.READ)
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Token {secret}")

    answer = reader.put("/api/payout-addresses/BTC", {"address": REGTEST_BTC_OTHER}, format="json")

    assert answer.status_code == 403
    assert vendor_payout_address(vendor_id=buyer.user.id, currency="BTC") == REGTEST_BTC
    assert reader.get("/api/payout-addresses").status_code == 200
