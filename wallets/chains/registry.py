"""The coins this engine handles: one entry each, with its settings block and its adapter.

Adding a coin is one entry here, one adapter module in this package and one settings
block in ``exchange/config/coins.py``, named in ``exchange/settings.py`` (README, "Adding
a coin"). Nothing here imports models: ``wallets.models`` builds its ``Chain`` choices
from these entries.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from wallets.addresses import AddressCheck
    from wallets.chains.base import ChainAdapter


@dataclass(frozen=True)
class Coin:
    """One coin: its names, units and rules, and where its settings and adapter are."""

    code: str  # the currency code in orders, quotes and the books ("BTC")
    chain: str  # the chain's name in wallets, accounts and payouts ("bitcoin")
    name: str  # for people ("Bitcoin")
    decimals: int  # base units per whole coin: 10**decimals
    uri_scheme: str  # payment URIs (BIP21 "bitcoin:", "monero:")
    uri_amount: str  # the URI's amount parameter, in whole coins ("amount", "tx_amount")
    api_path: str  # the chain's public endpoints under /api/ ("bitcoin")
    settings_block: str  # its block in exchange.config.coins, and its env variables' prefix
    adapter_path: str  # "module:Class" of the adapter (wallets.chains.<coin>)
    # The smallest amount a transaction may leave in an output (change included); less is
    # not relayed, and the wallet gives it to another output or the network.
    dust: int = 0

    @property
    def conf(self) -> dict[str, Any]:
        return settings.COIN_SETTINGS[self.code]

    @property
    def network(self) -> str:
        return self.conf["network"]

    @property
    def confirmation_tiers(self) -> list[tuple[int | None, int]]:
        """(up to this many base units, confirmations), ending with a catch-all step (the
        block's ``confirmations``, as settings.CONFIRMATIONS_REQUIRED holds it)."""
        return settings.CONFIRMATIONS_REQUIRED[self.chain]

    @property
    def final_confirmations(self) -> int:
        """Confirmations after which a deposit is settled: scans stop revisiting it."""
        return max(settings.FINAL_CONFIRMATIONS[self.chain], 1)

    @property
    def unlock_blocks(self) -> int:
        """Blocks before a received output may be spent (0: spendable once confirmed)."""
        return self.conf["unlock_blocks"]

    @property
    def needs_unlock(self) -> bool:
        """A deposit is credited only once the node says it is spendable."""
        return self.unlock_blocks > 0

    @property
    def network_fee_estimate(self) -> int:
        """Base units a payout's network fee is expected to take (quotes, minimums)."""
        return self.conf["network_fee_estimate"]

    @property
    def fee_bump_after_blocks(self) -> int:
        """Blocks a relayed payout may stay unconfirmed before its fee is bumped (0: a coin
        whose payouts are never bumped)."""
        return int(self.conf.get("fee_bump_after_blocks", 0))

    @property
    def min_amount(self) -> int:
        return self.conf["min_amount"]

    @property
    def max_amount(self) -> int:
        return self.conf["max_amount"]

    def validate_address(self, address: str) -> AddressCheck:
        """Is ``address`` payable on this coin's configured network (``AddressCheck``)?"""
        return adapter(self.chain).validate_address(address)


COINS: tuple[Coin, ...] = (
    Coin(
        code="BTC",
        chain="bitcoin",
        name="Bitcoin",
        decimals=8,
        uri_scheme="bitcoin",
        uri_amount="amount",
        api_path="bitcoin",
        settings_block="BITCOIN",
        adapter_path="wallets.chains.bitcoin:BitcoinChain",
        dust=546,
    ),
    Coin(
        code="XMR",
        chain="monero",
        name="Monero",
        decimals=12,
        uri_scheme="monero",
        uri_amount="tx_amount",
        api_path="monero-account",
        settings_block="MONERO",
        adapter_path="wallets.chains.monero:MoneroChain",
    ),
)
_BY_CODE = {c.code: c for c in COINS}
_BY_CHAIN = {c.chain: c for c in COINS}


def coin(currency: str) -> Coin:
    """The coin of a currency code; ``KeyError`` for one this engine does not handle."""
    return _BY_CODE[currency]


def coin_of_chain(chain: str) -> Coin:
    return _BY_CHAIN[chain]


def currency_of_chain(chain: str) -> str:
    return _BY_CHAIN[chain].code


def chain_of_currency(currency: str) -> str:
    return _BY_CODE[currency].chain


_overrides: dict[str, ChainAdapter] = {}


@functools.cache
def _load(chain: str) -> ChainAdapter:
    module, _, name = coin_of_chain(chain).adapter_path.partition(":")
    return getattr(importlib.import_module(module), name)(coin_of_chain(chain))


def adapter(chain: str) -> ChainAdapter:
    """The adapter that speaks to ``chain``'s nodes."""
    return _overrides.get(chain) or _load(chain)


def adapter_override(chain: str, replacement: ChainAdapter | None) -> None:
    """Put another adapter in place of ``chain``'s (``None`` restores it): the fast test
    tier's in-memory chain, never the integration tests'."""
    if replacement is None:
        _overrides.pop(chain, None)
    else:
        _overrides[chain] = replacement
