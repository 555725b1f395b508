"""Offline address validation per configured network (no node call).

bitcoin: base58check and bech32/bech32m parsed with embit, the version byte or HRP mapped
to a network with bcoin's parameters (bcoin's regtest uses 0x3c/0x26 and ``rb``, not
Bitcoin Core's ``bcrt``).
monero: parsed with the ``monero`` package. Monero's regtest uses mainnet-format
addresses, so on regtest a mainnet address is the right one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.conf import settings
from embit import base58, bech32
from monero.address import IntegratedAddress, SubAddress
from monero.address import address as parse_monero

# bcoin 1.0.2 lib/protocol/networks.js
BTC_BASE58 = {
    0x00: ("mainnet", "p2pkh"),
    0x05: ("mainnet", "p2sh"),
    0x6F: ("testnet", "p2pkh"),
    0xC4: ("testnet", "p2sh"),
    0x3C: ("regtest", "p2pkh"),
    0x26: ("regtest", "p2sh"),
}
BTC_BECH32 = {"bc": "mainnet", "tb": "testnet", "rb": "regtest"}
# The witness programs with a defined meaning (BIP 141, BIP 341): (version, length).
BTC_WITNESS = {(0, 20): "p2wpkh", (0, 32): "p2wsh", (1, 32): "p2tr"}
MONERO_NETS = {"main": "mainnet", "test": "testnet", "stage": "stagenet"}
MAX_LENGTH = 128


@dataclass(frozen=True)
class AddressCheck:
    valid: bool
    network: str | None = None
    type: str | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _bitcoin(address: str) -> AddressCheck:
    lowered = address.lower()
    hrp = lowered.rsplit("1", 1)[0] if "1" in lowered else ""
    if hrp in BTC_BECH32:
        if address != lowered and address != address.upper():
            return AddressCheck(False, error="mixed-case bech32 address")
        version, program = bech32.decode(hrp, lowered)
        if version is None:
            return AddressCheck(False, error="bad bech32 checksum or encoding")
        kind = BTC_WITNESS.get((version, len(program)))
        if kind is None:
            # Outputs of undefined witness versions or lengths are spendable by anyone.
            return AddressCheck(
                False,
                network=BTC_BECH32[hrp],
                error=f"witness version {version} with a {len(program)}-byte program is not"
                " a defined address type",
            )
        return AddressCheck(True, network=BTC_BECH32[hrp], type=kind)
    try:
        raw = base58.decode_check(address)
    except Exception:  # noqa: BLE001 - embit raises several kinds for bad input
        return AddressCheck(False, error="not a bitcoin address (bad base58 or checksum)")
    if len(raw) != 21 or raw[0] not in BTC_BASE58:
        return AddressCheck(False, error="not a bitcoin address (unknown version byte)")
    network, kind = BTC_BASE58[raw[0]]
    return AddressCheck(True, network=network, type=kind)


def _monero(address: str) -> AddressCheck:
    try:
        parsed = parse_monero(address)
    except ValueError as exc:
        return AddressCheck(False, error=f"not a monero address ({exc})"[:200])
    kind = (
        "integrated"
        if isinstance(parsed, IntegratedAddress)
        else "subaddress"
        if isinstance(parsed, SubAddress)
        else "standard"
    )
    return AddressCheck(True, network=MONERO_NETS.get(parsed.net, parsed.net), type=kind)


def validate_address(*, chain: str, address: str) -> AddressCheck:
    """Is ``address`` payable on the configured network of ``chain``?"""
    address = (address or "").strip()
    if not address:
        return AddressCheck(False, error="an address is required")
    if len(address) > MAX_LENGTH:
        return AddressCheck(False, error=f"longer than {MAX_LENGTH} characters")
    if chain == "bitcoin":
        check, configured = _bitcoin(address), settings.BITCOIN["network"]
        expected = configured
    else:
        check, configured = _monero(address), settings.MONERO["network"]
        # Monero's regtest (fakechain) uses mainnet addresses.
        expected = "mainnet" if configured == "regtest" else configured
    if check.valid and check.network != expected:
        return AddressCheck(
            False,
            network=check.network,
            type=check.type,
            error=f"a {check.network} address, but this engine runs {chain} on {configured}",
        )
    return check
