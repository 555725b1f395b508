"""What each coin means: one adapter module per coin behind one protocol (``base``), and
the registry of coins (``registry``). Services above this package have no chain branches.
"""

from wallets.chains.registry import (
    COINS,
    Coin,
    adapter,
    chain_of_currency,
    coin,
    coin_of_chain,
    currency_of_chain,
)

__all__ = [
    "COINS",
    "Coin",
    "adapter",
    "chain_of_currency",
    "coin",
    "coin_of_chain",
    "currency_of_chain",
]
