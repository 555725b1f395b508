"""Changing one coin's settings block for a test, where the registry reads it
(``settings.COIN_SETTINGS``, ``wallets.chains.registry.Coin.conf``)."""

from __future__ import annotations

from typing import Any


def coin_configured(settings, code: str, **values: Any) -> None:
    """Set ``values`` in the block of the coin ``code`` for the rest of the test
    (``settings`` is pytest-django's fixture, which restores it)."""
    settings.COIN_SETTINGS = {
        **settings.COIN_SETTINGS,
        code: {**settings.COIN_SETTINGS[code], **values},
    }
