import pytest
from embit import bech32

from wallets.addresses import validate_address
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import get_monero_client

MAINNET_BTC = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
MAINNET_BECH32 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
TESTNET_BTC = "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"
MAINNET_XMR = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
TESTNET_XMR = "9wviCeWe2D8XS82k2ovp5EUYLzBt9pYNW2LXUFsZiv8S3Mt21FZ5qQaAroko1enzw3eGr9qC7X1D7Geoo2RrAotYPwq9Gm8"


def test_a_mainnet_bitcoin_address_on_regtest_is_refused_saying_so():
    check = validate_address(chain="bitcoin", address=MAINNET_BTC)

    assert check.valid is False
    assert check.network == "mainnet"
    assert check.error == "a mainnet address, but this engine runs bitcoin on regtest"


@pytest.mark.parametrize("address", [MAINNET_BECH32, TESTNET_BTC])
def test_other_networks_bitcoin_addresses_are_refused(address):
    assert validate_address(chain="bitcoin", address=address).valid is False


@pytest.mark.parametrize(
    "address", ["", "hello", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", "x" * 500, MAINNET_XMR]
)
def test_malformed_bitcoin_addresses_are_refused_with_a_reason(address):
    check = validate_address(chain="bitcoin", address=address)

    assert check.valid is False
    assert check.error


@pytest.mark.parametrize(("version", "length"), [(2, 32), (16, 20), (1, 20), (1, 40), (3, 2)])
def test_undefined_witness_versions_and_lengths_are_refused(version, length):
    address = bech32.encode("rb", version, bytes(range(length)))
    assert address, (version, length)
    check = validate_address(chain="bitcoin", address=address)
    assert check.valid is False
    assert "not a defined address type" in check.error


@pytest.mark.parametrize(
    ("version", "length", "kind"), [(0, 20, "p2wpkh"), (0, 32, "p2wsh"), (1, 32, "p2tr")]
)
def test_defined_witness_programs_are_accepted(version, length, kind):
    address = bech32.encode("rb", version, bytes(range(length)))
    assert validate_address(chain="bitcoin", address=address).type == kind


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


@pytest.mark.parametrize("address", [TESTNET_XMR, "hello", MAINNET_BTC, MAINNET_XMR[:-1] + "B"])
def test_wrong_network_or_malformed_monero_addresses_are_refused(address):
    check = validate_address(chain="monero", address=address)

    assert check.valid is False
    assert check.error
