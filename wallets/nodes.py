"""The node client of a master wallet (the only way the rest of wallets reaches a node)."""

from __future__ import annotations

import functools

from django.conf import settings

from wallets.clients.bitcoin import BitcoinClient
from wallets.clients.monero import MoneroClient
from wallets.models import Chain, MasterWallet

NodeClient = BitcoinClient | MoneroClient


@functools.cache
def _client(chain: str, endpoint: str, name: str) -> NodeClient:
    conf = getattr(settings, endpoint)
    if chain == Chain.BITCOIN:
        return BitcoinClient(
            node_url=conf["node_url"],
            wallet_url=conf["wallet_url"],
            api_key=conf["api_key"],
            wallet_id=name,
            connect_timeout=settings.NODE_CONNECT_TIMEOUT,
            read_timeout=settings.NODE_READ_TIMEOUT,
        )
    return MoneroClient(
        daemon_url=conf["daemon_url"],
        wallet_url=conf["wallet_url"],
        wallet_file=name,
        connect_timeout=settings.NODE_CONNECT_TIMEOUT,
        read_timeout=settings.NODE_READ_TIMEOUT,
        transfer_read_timeout=conf["transfer_read_timeout"],
        wallet_user=conf.get("wallet_user", ""),
        wallet_password=conf.get("wallet_password", ""),
        daemon_user=conf.get("daemon_user", ""),
        daemon_password=conf.get("daemon_password", ""),
    )


def client_for(wallet: MasterWallet) -> NodeClient:
    return _client(wallet.chain, wallet.endpoint, wallet.name)


def default_wallet_settings(chain: str) -> dict:
    """What the settings say the first master wallet of ``chain`` is."""
    if chain == Chain.BITCOIN:
        conf = settings.BITCOIN
        return {"name": conf["wallet_id"], "network": conf["network"], "endpoint": "BITCOIN"}
    conf = settings.MONERO
    return {"name": conf["wallet_file"], "network": conf["network"], "endpoint": "MONERO"}
