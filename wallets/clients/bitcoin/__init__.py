"""bcoin 1.0.2: node HTTP/JSON-RPC (port 48332 on regtest) and wallet HTTP (48334).

Amounts are satoshis (int). The wallet RPC answers in BTC as decimals; they are parsed as
``Decimal`` and converted exactly, never through float.
"""

from wallets.clients.bitcoin.client import (
    SAT_PER_BTC,
    BitcoinClient,
    btc_to_sat,
    get_bitcoin_client,
)
from wallets.clients.bitcoin.rpc import ERRORS

__all__ = ["ERRORS", "SAT_PER_BTC", "BitcoinClient", "btc_to_sat", "get_bitcoin_client"]
