"""Pairs: what the rate service prices, and how a pair is named.

A pair is ``"BASE/QUOTE"``: the price of one BASE in QUOTE ("XMR/BTC" = 0.0028 means
1 XMR costs 0.0028 BTC). The engine refreshes ``rates_pairs()``: every two coins of the
registry, each priced in the coins listed before it (BTC comes first, so the one coin
pair is XMR/BTC), then every coin in every fiat currency of RATES_FIAT_CURRENCIES
(default USD, EUR). Nothing here reads the database or the network.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from rates.errors import UnknownPair
from wallets.chains.registry import COINS

# The pair swaps trade and ``rate_current()`` reads without arguments.
PAIR_XMR_BTC = "XMR/BTC"

# An ISO 4217 style code: three capital letters.
_FIAT_CODE = re.compile(r"[A-Z]{3}")
_CODE = re.compile(r"[A-Z0-9]{2,10}")


class PairKind(StrEnum):
    COIN = "coin"  # two coins of the registry (XMR/BTC)
    FIAT = "fiat"  # a coin priced in a fiat currency (BTC/USD)


class Pair(NamedTuple):
    base: str
    quote: str

    @property
    def name(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def inverse(self) -> Pair:
        return Pair(self.quote, self.base)

    def __str__(self) -> str:
        return self.name


# A price outside its kind's range is a broken answer, not a market move. Coin pairs:
# one coin in another, either way round (XMR/BTC 0.0028, BTC/XMR 357). Fiat pairs: any
# coin in any fiat currency, from a coin worth a millionth of a dollar to a bitcoin in
# Vietnamese dong (2.5e9).
PLAUSIBLE_RANGES: dict[PairKind, tuple[Decimal, Decimal]] = {
    PairKind.COIN: (Decimal("1e-12"), Decimal("1e6")),
    PairKind.FIAT: (Decimal("1e-6"), Decimal("1e12")),
}


def pair_split(name: str) -> Pair:
    """``"XMR/BTC"`` → ``Pair("XMR", "BTC")``; a malformed name raises ``UnknownPair``."""
    base, slash, quote = str(name).strip().upper().partition("/")
    if not slash or not _CODE.fullmatch(base) or not _CODE.fullmatch(quote) or base == quote:
        raise UnknownPair(f"{name!r} is not a pair: write BASE/QUOTE, e.g. XMR/BTC")
    return Pair(base, quote)


def coin_codes() -> tuple[str, ...]:
    """The registry's currency codes, in its order."""
    return tuple(c.code for c in COINS)


def fiat_currencies() -> tuple[str, ...]:
    """RATES_FIAT_CURRENCIES, upper-cased, without repeats; a bad code raises
    ImproperlyConfigured (it must be three letters and not a coin of the registry)."""
    codes: list[str] = []
    for raw in settings.RATES_FIAT_CURRENCIES:
        code = str(raw).strip().upper()
        if not code:
            continue
        if not _FIAT_CODE.fullmatch(code):
            raise ImproperlyConfigured(
                f"RATES_FIAT_CURRENCIES: {raw!r} is not a three-letter currency code"
            )
        if code in coin_codes():
            raise ImproperlyConfigured(f"RATES_FIAT_CURRENCIES: {code} is a coin, not a fiat")
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def rates_pairs() -> tuple[str, ...]:
    """Every pair the refresh prices: the coin pairs, then each coin in each fiat currency.

    With the registry's BTC and XMR and the default fiat list: XMR/BTC, BTC/USD, BTC/EUR,
    XMR/USD, XMR/EUR.
    """
    coins = coin_codes()
    pairs = [Pair(later, earlier).name for i, later in enumerate(coins) for earlier in coins[:i]]
    pairs += [Pair(code, fiat).name for code in coins for fiat in fiat_currencies()]
    return tuple(pairs)


def pair_kind(pair: str) -> PairKind:
    """Whether ``pair`` is two coins or a coin and a fiat currency (either way round)."""
    base, quote = pair_split(pair)
    coins = coin_codes()
    return PairKind.COIN if base in coins and quote in coins else PairKind.FIAT


def plausible_range(pair: str) -> tuple[Decimal, Decimal]:
    """The ``[low, high)`` range a price of ``pair`` must fall in to be believed."""
    return PLAUSIBLE_RANGES[pair_kind(pair)]


def pair_stored(pair: str) -> tuple[str, bool]:
    """The refreshed pair that prices ``pair`` and whether it is the other way round:
    ``"BTC/XMR"`` → ``("XMR/BTC", True)``. A pair the engine does not refresh either way
    raises ``UnknownPair``."""
    wanted = pair_split(pair)
    refreshed = rates_pairs()
    if wanted.name in refreshed:
        return wanted.name, False
    if wanted.inverse.name in refreshed:
        return wanted.inverse.name, True
    raise UnknownPair(
        f"{wanted.name} is not priced here (pairs: {', '.join(refreshed)}; the fiat"
        " currencies are RATES_FIAT_CURRENCIES)"
    )
