"""Base units ⇄ display strings, at the edges only (amounts are integers everywhere else)."""

from __future__ import annotations

from decimal import Decimal

from wallets.chains.registry import COINS, coin

DECIMALS = {c.code: c.decimals for c in COINS}


def to_display(amount: int, currency: str) -> str:
    """``150000000, "BTC"`` → ``"1.50000000"``."""
    places = DECIMALS[currency]
    return f"{Decimal(int(amount)).scaleb(-places):.{places}f}"


def payment_uri(*, currency: str, address: str, amount: int) -> str:
    """The coin's payment URI (BIP21 for bitcoin, ``monero:`` for Monero)."""
    value = to_display(amount, currency).rstrip("0").rstrip(".")
    paid = coin(currency)
    return f"{paid.uri_scheme}:{address}?{paid.uri_amount}={value}"
