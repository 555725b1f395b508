"""Monero 0.18: monerod JSON-RPC (18081 on regtest) and monero-wallet-rpc (18083).

Each RPC may run with ``--rpc-login``; the client answers its HTTP digest challenge with
that RPC's own login. The daemon port must be monerod's unrestricted one: a restricted port
leaves out of ``get_transactions`` every pool transaction the node has not broadcast
itself, so a payout still in its Dandelion++ stem phase would look absent there.

Amounts are piconero (int). monero-wallet-rpc serves one request at a time, and a
``transfer`` can outlive a short client timeout while still succeeding: transfers use a
long read timeout and their timeout is ``OutcomeUnknown``, never a failure.
"""

from wallets.clients.monero.client import (
    MoneroClient,
    get_customer_monero_client,
    get_monero_client,
)
from wallets.clients.monero.rpc import ERROR_CODES, ERROR_MESSAGES, rpc_login

__all__ = [
    "ERROR_CODES",
    "ERROR_MESSAGES",
    "MoneroClient",
    "get_customer_monero_client",
    "get_monero_client",
    "rpc_login",
]
