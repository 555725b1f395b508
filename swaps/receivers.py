"""Wallet events the swaps app follows (connected in SwapsConfig.ready)."""

from __future__ import annotations

from datetime import datetime

from django.dispatch import receiver

from wallets.signals import balances_synced


@receiver(balances_synced)
def on_balances_synced(sender: object, *, chain: str, read_at: datetime, **kwargs: object) -> None:
    """The house's liquidity follows its account's node balance."""
    from swaps.liquidity import liquidity_sync

    liquidity_sync(chain=chain, read_at=read_at)
