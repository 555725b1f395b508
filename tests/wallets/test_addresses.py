"""Addresses the regtest nodes hand out pass the offline validation (the offline cases
on every network are the fast tier's: tests/fast/wallets/test_addresses.py)."""

from wallets.addresses import validate_address
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import get_monero_client


def test_addresses_bcoin_hands_out_on_regtest_are_valid(regtest):
    address = get_bitcoin_client().new_address()

    check = validate_address(chain="bitcoin", address=address)

    assert check.valid is True
    assert (check.network, check.type) == ("regtest", "p2pkh")


def test_monero_regtest_uses_mainnet_format_addresses(regtest):
    xmr = get_monero_client()
    primary = xmr.primary_address(0)
    _, sub = xmr.create_account("address-check")

    assert validate_address(chain="monero", address=primary).type == "standard"
    assert validate_address(chain="monero", address=sub).type == "subaddress"
    assert validate_address(chain="monero", address=sub).valid is True
