"""Base units ⇄ display strings, at the edges only (amounts are integers everywhere else)."""

from __future__ import annotations

from decimal import Decimal

DECIMALS = {"BTC": 8, "XMR": 12}


def to_display(amount: int, currency: str) -> str:
    """``150000000, "BTC"`` → ``"1.50000000"``."""
    places = DECIMALS[currency]
    return f"{Decimal(int(amount)).scaleb(-places):.{places}f}"


def payment_uri(*, currency: str, address: str, amount: int) -> str:
    """BIP21 for bitcoin, the ``monero:`` URI for Monero."""
    value = to_display(amount, currency).rstrip("0").rstrip(".")
    if currency == "BTC":
        return f"bitcoin:{address}?amount={value}"
    return f"monero:{address}?tx_amount={value}"
