"""Pricing an amount of a fiat currency or a coin in base units of a coin, at the current
rate, rounded up: what a customer owes never leaves the merchant short."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from exchange.errors import ApplicationError
from rates.errors import RateUnavailable
from rates.models import RateSnapshot
from rates.selectors import Conversion, rate_convert

pytestmark = pytest.mark.django_db


@pytest.fixture
def snapshots(django_capture_on_commit_callbacks):
    """The static provider's default rates: XMR/BTC 0.0028, BTC/USD 60000, BTC/EUR 55000,
    XMR/USD 168, XMR/EUR 154."""
    from rates.services import rates_refresh_pairs

    with django_capture_on_commit_callbacks(execute=True):
        return rates_refresh_pairs()


@pytest.mark.parametrize(
    ("price", "currency", "coin", "owed"),
    [
        ("100", "USD", "BTC", 166_667),  # 166666.67 sat, rounded up
        ("60", "USD", "BTC", 100_000),  # exact: not rounded
        ("1", "USD", "XMR", 5_952_380_953),  # 5952380952.38 piconero, up
        ("154", "EUR", "XMR", 10**12),  # exactly 1 XMR
        ("0.0028", "BTC", "XMR", 10**12),  # an amount in BTC paid in XMR: 0.0028 / 0.0028
        ("1", "XMR", "BTC", 280_000),  # an amount in XMR paid in BTC: 1 x 0.0028, no inverse
        ("0.000000001", "USD", "BTC", 1),  # far below one satoshi: still one
        ("0.123456781", "BTC", "BTC", 12_345_679),  # the same coin, up to its decimals
        (Decimal("19.99"), "usd", "btc", 33_317),  # 33316.67
        (5, "EUR", "BTC", 9_091),  # 9090.91
    ],
)
def test_what_the_customer_owes_is_rounded_up_to_a_whole_base_unit(
    snapshots, price, currency, coin, owed
):
    conversion = rate_convert(price=price, currency=currency, coin=coin)

    assert isinstance(conversion, Conversion)
    assert type(conversion.amount) is int
    assert conversion.amount == owed


def test_the_conversion_names_the_rate_and_snapshot_an_invoice_would_lock(snapshots):
    usd = rate_convert(price="100", currency="USD", coin="XMR")
    inverse = rate_convert(price="1", currency="XMR", coin="BTC")
    same = rate_convert(price="0.5", currency="XMR", coin="XMR")

    assert (usd.coin, usd.currency, usd.price) == ("XMR", "USD", Decimal("100"))
    assert (usd.pair, usd.rate) == ("XMR/USD", Decimal("168"))
    assert usd.snapshot_id == snapshots["XMR/USD"].id
    assert usd.fetched_at == snapshots["XMR/USD"].created_at
    assert inverse.pair == "XMR/BTC"  # the stored pair, read the other way round
    assert inverse.rate == Decimal("357.142857142857142857")  # 1 BTC in XMR
    assert inverse.snapshot_id == snapshots["XMR/BTC"].id
    assert (same.amount, same.rate, same.pair, same.snapshot_id) == (
        500_000_000_000,
        Decimal(1),
        "",
        None,
    )


def test_without_a_fresh_rate_nothing_is_priced(snapshots, settings):
    RateSnapshot.objects.filter(pair="BTC/USD").update(
        created_at=snapshots["BTC/USD"].created_at - timedelta(hours=1)
    )
    from rates.cache import rate_cache_clear

    rate_cache_clear()

    with pytest.raises(RateUnavailable, match="no fresh BTC/USD rate"):
        rate_convert(price="10", currency="USD", coin="BTC")
    assert rate_convert(price="10", currency="EUR", coin="BTC").amount == 18_182


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"price": "10", "currency": "GBP", "coin": "BTC"}, "currency"),
        ({"price": "10", "currency": "USDT", "coin": "BTC"}, "currency"),
        ({"price": "10", "currency": "USD", "coin": "ETH"}, "coin"),
        ({"price": "10", "currency": "USD", "coin": "USD"}, "coin"),
        ({"price": "0", "currency": "USD", "coin": "BTC"}, "price"),
        ({"price": "-1", "currency": "USD", "coin": "BTC"}, "price"),
        ({"price": "NaN", "currency": "USD", "coin": "BTC"}, "price"),
        ({"price": "ten", "currency": "USD", "coin": "BTC"}, "price"),
    ],
)
def test_a_bad_currency_coin_or_price_is_refused_by_field(snapshots, kwargs, field):
    with pytest.raises(ApplicationError) as caught:
        rate_convert(**kwargs)

    assert caught.value.field == field


def test_a_float_price_is_a_programming_error():
    with pytest.raises(TypeError, match="not float"):
        rate_convert(price=19.99, currency="USD", coin="BTC")
