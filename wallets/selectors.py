"""Reads about wallets, accounts and nodes."""

from __future__ import annotations

from wallets.clients.base import NodeError
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import get_monero_client


def node_status(*, chain: str, timeout: float) -> dict:
    """Height and reachability of a chain's node (and, for Monero, its wallet RPC)."""
    try:
        if chain == "bitcoin":
            info = get_bitcoin_client().node_info(timeout=timeout)
            return {"reachable": True, "height": int(info["chain"]["height"])}
        client = get_monero_client()
        info = client.daemon_info(timeout=timeout)
        client.wallet_version(timeout=timeout)
        return {"reachable": True, "height": int(info["height"])}
    except NodeError as exc:
        return {"reachable": False, "error": str(exc)}
