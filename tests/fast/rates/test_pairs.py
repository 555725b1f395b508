"""Which pairs the engine prices, how a pair is named and what price of it is believable."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from exchange.config.env import environ_matching
from rates.errors import UnknownPair
from rates.pairs import (
    Pair,
    PairKind,
    fiat_currencies,
    pair_kind,
    pair_split,
    pair_stored,
    plausible_range,
    rates_pairs,
)
from rates.providers.base import ProviderBadResponse, to_price


def test_the_default_pairs_are_the_coin_pair_then_each_coin_in_usd_and_eur(settings):
    assert settings.RATES_FIAT_CURRENCIES == ["USD", "EUR"]

    assert rates_pairs() == ("XMR/BTC", "BTC/USD", "BTC/EUR", "XMR/USD", "XMR/EUR")


def test_the_fiat_list_is_normalised(settings):
    settings.RATES_FIAT_CURRENCIES = [" gbp", "USD", "gbp", ""]

    assert fiat_currencies() == ("GBP", "USD")
    assert rates_pairs() == ("XMR/BTC", "BTC/GBP", "BTC/USD", "XMR/GBP", "XMR/USD")


def test_no_fiat_currency_leaves_the_coin_pair(settings):
    settings.RATES_FIAT_CURRENCIES = []

    assert rates_pairs() == ("XMR/BTC",)


@pytest.mark.parametrize(
    ("codes", "match"),
    [(["USD", "BTC"], "BTC is a coin"), (["US"], "'US' is not a three-letter"), (["EU1"], "EU1")],
)
def test_a_bad_fiat_currency_is_refused_by_name(settings, codes, match):
    settings.RATES_FIAT_CURRENCIES = codes

    with pytest.raises(ImproperlyConfigured, match=match):
        rates_pairs()


@pytest.mark.parametrize("name", ["XMRBTC", "XMR/", "/BTC", "XMR/XMR", "X/BTC", "XMR-BTC", ""])
def test_a_malformed_pair_is_refused(name):
    with pytest.raises(UnknownPair) as caught:
        pair_split(name)

    assert caught.value.status_code == 400
    assert caught.value.field == "pair"


def test_a_pair_reads_either_way_round_and_nothing_else():
    assert pair_split(" xmr/btc ") == Pair("XMR", "BTC")
    assert Pair("XMR", "BTC").inverse.name == "BTC/XMR"
    assert pair_stored("XMR/BTC") == ("XMR/BTC", False)
    assert pair_stored("btc/xmr") == ("XMR/BTC", True)
    assert pair_stored("EUR/XMR") == ("XMR/EUR", True)
    for name in ("XMR/GBP", "USD/EUR"):
        with pytest.raises(UnknownPair, match="not priced here"):
            pair_stored(name)


def test_each_kind_of_pair_has_its_own_plausible_range():
    assert pair_kind("XMR/BTC") is pair_kind("BTC/XMR") is PairKind.COIN
    assert pair_kind("BTC/JPY") is pair_kind("USD/BTC") is PairKind.FIAT
    low, high = plausible_range("XMR/BTC")
    assert low <= Decimal("0.0028") < high
    assert low <= Decimal("357") < high  # BTC/XMR
    # A bitcoin in yen or dong is a fiat price, and far outside any coin pair's range.
    for price in ("9500000", "2500000000", "0.05"):
        assert to_price(price, provider="t", field="f", pair="BTC/JPY") == Decimal(price)
    with pytest.raises(ProviderBadResponse, match="outside the plausible XMR/BTC range"):
        to_price("9500000", provider="t", field="f", pair="XMR/BTC")
    with pytest.raises(ProviderBadResponse, match="outside the plausible BTC/USD range"):
        to_price("1e12", provider="t", field="f", pair="BTC/USD")


def test_settings_named_by_pattern_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("RATES_STATIC_BTC_GBP", "47000")
    monkeypatch.setenv("RATES_STATIC_XMR", "1")

    found = environ_matching(r"RATES_STATIC_[A-Z0-9]{2,10}_[A-Z0-9]{2,10}")

    assert found["RATES_STATIC_BTC_GBP"] == "47000"
    assert "RATES_STATIC_XMR" not in found
