"""The node client of a master wallet (the only way the rest of wallets reaches a node)."""

from __future__ import annotations

from typing import Any

from wallets.chains import adapter
from wallets.models import MasterWallet


def client_for(wallet: MasterWallet) -> Any:
    return adapter(wallet.chain).client(wallet)


def default_wallet_settings(chain: str) -> dict:
    """What the settings say the first master wallet of ``chain`` is."""
    return adapter(chain).wallet_defaults()
