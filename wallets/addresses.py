"""Offline address validation per configured network (no node call).

What an address of each coin looks like is its adapter's (``wallets.chains.<coin>``
``parse_address``); this module holds the answer's shape and the rules every coin shares:
an address is required, bounded in length, and of the network the engine runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from wallets.chains.registry import adapter

MAX_LENGTH = 128


@dataclass(frozen=True)
class AddressCheck:
    valid: bool
    network: str | None = None
    type: str | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def address_check(
    address: str,
    *,
    parse: Callable[[str], AddressCheck],
    chain: str,
    configured: str,
    expected: str | None = None,
) -> AddressCheck:
    """``parse`` the address and hold it to the network: ``expected`` is the network the
    addresses of ``configured`` carry (the same, except on Monero's regtest)."""
    address = (address or "").strip()
    if not address:
        return AddressCheck(False, error="an address is required")
    if len(address) > MAX_LENGTH:
        return AddressCheck(False, error=f"longer than {MAX_LENGTH} characters")
    check = parse(address)
    if check.valid and check.network != (expected or configured):
        return AddressCheck(
            False,
            network=check.network,
            type=check.type,
            error=f"a {check.network} address, but this engine runs {chain} on {configured}",
        )
    return check


def validate_address(*, chain: str, address: str) -> AddressCheck:
    """Is ``address`` payable on the configured network of ``chain``?"""
    return adapter(chain).validate_address(address)
