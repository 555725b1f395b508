"""Offline address validation on each network (wallets/addresses.py and the adapters'
``parse_address``): good and bad addresses of every kind, for bitcoin and monero."""

from __future__ import annotations

import pytest
from embit import base58, bech32

from tests.coins import coin_configured
from wallets.addresses import MAX_LENGTH, validate_address
from wallets.chains.registry import coin_of_chain

MAINNET_BTC = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
MAINNET_BECH32 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
TESTNET_BTC = "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"
MAINNET_XMR = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
TESTNET_XMR = "9wviCeWe2D8XS82k2ovp5EUYLzBt9pYNW2LXUFsZiv8S3Mt21FZ5qQaAroko1enzw3eGr9qC7X1D7Geoo2RrAotYPwq9Gm8"
# Derived offline from the seed 00…01 (monero.seed, monero.backends.offline).
SEED_XMR = "42nsXK8WbVGTNayQ6Kjw5UdgqbQY5KCCufdxdCgF7NgTfjC69Mna7DJSYyie77hZTQ8H92G2HwgFhgEUYnDzrnLnQdF28r3"
SEED_XMR_SUBADDRESS = "89ZEftksG8AfZz4FLzLyAs93eZB4vq26EUqSJfAW2dkXg6RKpRVb9g9ChbSoKNdCZq3ZjUz33QZYGfnczka8ig9eCbXjL47"
SEED_XMR_INTEGRATED = "4CVYY7x1CknTNayQ6Kjw5UdgqbQY5KCCufdxdCgF7NgTfjC69Mna7DJSYyie77hZTQ8H92G2HwgFhgEUYnDzrnLnbxZauiANt3fU2vzthc"
SEED_XMR_TESTNET = "9tLR1ZnmsrNTNayQ6Kjw5UdgqbQY5KCCufdxdCgF7NgTfjC69Mna7DJSYyie77hZTQ8H92G2HwgFhgEUYnDzrnLnQeidLrM"
SEED_XMR_STAGENET = "52zucA3UF6NTNayQ6Kjw5UdgqbQY5KCCufdxdCgF7NgTfjC69Mna7DJSYyie77hZTQ8H92G2HwgFhgEUYnDzrnLnQf9eTdc"


def base58_address(version: int, payload: bytes = bytes(range(20))) -> str:
    return base58.encode_check(bytes([version]) + payload)


REGTEST_P2PKH = base58_address(0x3C)
REGTEST_P2SH = base58_address(0x26)
REGTEST_P2WPKH = bech32.encode("rb", 0, bytes(range(20)))
REGTEST_P2WSH = bech32.encode("rb", 0, bytes(range(32)))
REGTEST_P2TR = bech32.encode("rb", 1, bytes(range(32)))


def flip_last(address: str) -> str:
    return address[:-1] + ("q" if address[-1] != "q" else "p")


@pytest.fixture
def network(settings):
    """Run a chain on another network for one test."""

    def run(chain: str, name: str):
        coin_configured(settings, coin_of_chain(chain).code, network=name)

    return run


# --- bitcoin on regtest (bcoin's parameters) -----------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        (REGTEST_P2PKH, "p2pkh"),
        (REGTEST_P2SH, "p2sh"),
        (REGTEST_P2WPKH, "p2wpkh"),
        (REGTEST_P2WSH, "p2wsh"),
        (REGTEST_P2WPKH.upper(), "p2wpkh"),
        (f"  {REGTEST_P2WPKH}\n", "p2wpkh"),
    ],
)
def test_each_kind_of_regtest_bitcoin_address_is_accepted(address, kind):
    check = validate_address(chain="bitcoin", address=address)

    assert (check.valid, check.network, check.type) == (True, "regtest", kind)


def test_a_taproot_address_is_refused_saying_why_and_what_to_give():
    check = validate_address(chain="bitcoin", address=REGTEST_P2TR)

    assert (check.valid, check.network, check.type) == (False, "regtest", "p2tr")
    assert "taproot" in check.error
    assert "native segwit" in check.error


def test_a_mainnet_bitcoin_address_on_regtest_is_refused_saying_so():
    check = validate_address(chain="bitcoin", address=MAINNET_BTC)

    assert check.valid is False
    assert check.network == "mainnet"
    assert check.error == "a mainnet address, but this engine runs bitcoin on regtest"


@pytest.mark.parametrize(
    "address",
    [
        MAINNET_BECH32,
        TESTNET_BTC,
        base58_address(0x00),
        base58_address(0x05),
        base58_address(0x6F),
        base58_address(0xC4),
        bech32.encode("tb", 0, bytes(range(20))),
        bech32.encode("bc", 1, bytes(range(32))),
    ],
)
def test_other_networks_bitcoin_addresses_are_refused(address):
    check = validate_address(chain="bitcoin", address=address)

    assert check.valid is False
    assert check.network in ("mainnet", "testnet")


@pytest.mark.parametrize(
    "address",
    [
        "",
        "   ",
        "hello",
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3",  # one character off: bad checksum
        flip_last(REGTEST_P2PKH),
        flip_last(REGTEST_P2WPKH),
        REGTEST_P2WPKH[:10] + REGTEST_P2WPKH[10:].upper(),  # mixed case
        "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",  # Bitcoin Core's regtest, not bcoin's
        base58_address(0x3C, bytes(19)),  # a 19-byte hash
        base58_address(0x3C, bytes(21)),
        base58_address(0x30),  # an unknown version byte
        "x" * 500,
        MAINNET_XMR,
    ],
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
    ("version", "length", "encoding"),
    [(0, 20, bech32.Encoding.BECH32M), (1, 32, bech32.Encoding.BECH32)],
)
def test_a_witness_program_in_the_other_checksum_encoding_is_refused(version, length, encoding):
    data = [version, *bech32.convertbits(bytes(range(length)), 8, 5)]
    address = bech32.bech32_encode(encoding, "rb", data)

    assert validate_address(chain="bitcoin", address=address).valid is False


def test_an_address_longer_than_the_column_is_refused_before_it_is_parsed():
    assert validate_address(chain="bitcoin", address="1" * (MAX_LENGTH + 1)).error == (
        f"longer than {MAX_LENGTH} characters"
    )


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("mainnet", MAINNET_BTC, REGTEST_P2PKH),
        ("mainnet", MAINNET_BECH32, TESTNET_BTC),
        ("testnet", TESTNET_BTC, MAINNET_BECH32),
        ("testnet", bech32.encode("tb", 0, bytes(range(20))), REGTEST_P2WPKH),
    ],
)
def test_on_another_network_its_addresses_are_accepted_and_regtests_refused(
    network, name, good, bad
):
    network("bitcoin", name)

    assert validate_address(chain="bitcoin", address=good).valid is True
    assert validate_address(chain="bitcoin", address=bad).valid is False


# --- monero (regtest uses mainnet-format addresses) ----------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        (MAINNET_XMR, "standard"),
        (SEED_XMR, "standard"),
        (SEED_XMR_SUBADDRESS, "subaddress"),
        (SEED_XMR_INTEGRATED, "integrated"),
        (f" {SEED_XMR_SUBADDRESS} ", "subaddress"),
    ],
)
def test_each_kind_of_monero_address_is_accepted_on_regtest(address, kind):
    check = validate_address(chain="monero", address=address)

    assert (check.valid, check.network, check.type) == (True, "mainnet", kind)


@pytest.mark.parametrize(
    "address",
    [
        TESTNET_XMR,
        SEED_XMR_TESTNET,
        SEED_XMR_STAGENET,
        "hello",
        "",
        MAINNET_BTC,
        REGTEST_P2WPKH,
        MAINNET_XMR[:-1] + "B",
        SEED_XMR_SUBADDRESS[:-1] + "8",
        SEED_XMR_INTEGRATED[:-2],
        SEED_XMR[:50],
    ],
)
def test_wrong_network_or_malformed_monero_addresses_are_refused(address):
    check = validate_address(chain="monero", address=address)

    assert check.valid is False
    assert check.error


def test_a_testnet_monero_address_is_refused_naming_its_network():
    check = validate_address(chain="monero", address=SEED_XMR_TESTNET)

    assert (check.network, check.error) == (
        "testnet",
        "a testnet address, but this engine runs monero on regtest",
    )


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("mainnet", SEED_XMR_SUBADDRESS, SEED_XMR_TESTNET),
        ("testnet", SEED_XMR_TESTNET, SEED_XMR),
        ("testnet", TESTNET_XMR, SEED_XMR_STAGENET),
    ],
)
def test_monero_on_another_network_holds_to_that_networks_addresses(network, name, good, bad):
    network("monero", name)

    assert validate_address(chain="monero", address=good).valid is True
    assert validate_address(chain="monero", address=bad).valid is False


def test_an_unknown_chain_has_no_validation():
    with pytest.raises(KeyError):
        validate_address(chain="dogecoin", address=MAINNET_BTC)
