"""Addresses the regtest nodes hand out pass the offline validation (the offline cases
on every network are the fast tier's: tests/fast/wallets/test_addresses.py)."""

from django.conf import settings

from wallets.addresses import validate_address
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import get_monero_client


def test_addresses_bcoin_hands_out_on_regtest_are_valid(regtest):
    btc = get_bitcoin_client()
    # The master wallet is a native segwit one; the customers' wallet is legacy.
    master = btc.new_address()
    legacy = btc.new_address(wallet_id=settings.BITCOIN["customer_wallet_id"])

    for address, kind in ((master, "p2wpkh"), (legacy, "p2pkh")):
        check = validate_address(chain="bitcoin", address=address)
        assert check.valid is True
        assert (check.network, check.type) == ("regtest", kind)


def test_monero_regtest_uses_mainnet_format_addresses(regtest):
    xmr = get_monero_client()
    primary = xmr.primary_address(0)
    _, sub = xmr.create_account("address-check")

    assert validate_address(chain="monero", address=primary).type == "standard"
    assert validate_address(chain="monero", address=sub).type == "subaddress"
    assert validate_address(chain="monero", address=sub).valid is True
