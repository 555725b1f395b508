"""Each provider's pairs, symbols and calls, and how it reads a many-pair answer (decoded
JSON, no network: tests/rates/ asks the fake exchanges over HTTP)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from rates.pairs import rates_pairs
from rates.providers import ProviderBadResponse, ProviderUnavailable, get_provider
from rates.providers.base import decode_json

PAIRS = ["XMR/BTC", "BTC/USD", "BTC/EUR", "XMR/USD", "XMR/EUR"]


def _decoded(payload) -> object:
    return decode_json(json.dumps(payload).encode(), provider="test")


@pytest.mark.parametrize(
    ("name", "symbols"),
    [
        ("kraken", ["XMRXBT", "XBTUSD", "XBTEUR", "XMRUSD", "XMREUR"]),
        ("bitfinex", ["tXMRBTC", "tBTCUSD", "tBTCEUR", "tXMRUSD", None]),
        ("kucoin", ["XMR-BTC", "BTC@USD", "BTC@EUR", "XMR@USD", "XMR@EUR"]),
        ("coingecko", ["monero.btc", "bitcoin.usd", "bitcoin.eur", "monero.usd", "monero.eur"]),
    ],
)
def test_each_provider_names_its_symbol_for_each_pair_it_quotes(name, symbols):
    provider = get_provider(name)

    assert [provider.symbol(pair) for pair in PAIRS] == symbols
    assert provider.symbol("BTC/XMR") is None  # asked the stored way round only


def test_kraken_asks_every_pair_at_once_and_reads_each_by_its_full_name():
    kraken = get_provider("kraken")
    path, params = kraken.request(PAIRS[:3])
    payload = {
        "error": [],
        "result": {
            "XXMRXXBT": {"a": ["0.002802", "1", "1"], "b": ["0.002798", "1", "1"]},
            "XXBTZUSD": {"a": ["60010.0", "1", "1"], "b": ["59990.0", "1", "1"]},
        },
    }

    answers = kraken.parse(_decoded(payload), PAIRS[:3])

    assert kraken.batches(PAIRS) == [tuple(PAIRS)]
    assert (path, params) == ("/0/public/Ticker", {"pair": "XMRXBT,XBTUSD,XBTEUR"})
    assert answers["XMR/BTC"] == Decimal("0.0028")
    assert answers["BTC/USD"] == Decimal("60000")
    assert isinstance(answers["BTC/EUR"], ProviderBadResponse)
    assert "no XXBTZEUR ticker" in answers["BTC/EUR"].message


def test_kraken_errors_fail_the_whole_call():
    with pytest.raises(ProviderUnavailable, match="EService:Busy"):
        get_provider("kraken").parse({"error": ["EService:Busy"]}, PAIRS)


def test_bitfinex_reads_its_tickers_list_and_reports_a_missing_symbol_in_place():
    bitfinex = get_provider("bitfinex")
    payload = [
        ["tXMRBTC", 0.002789, 1, 0.002791, 1, 0, 0, 0.00279, 1, 0.0028, 0.0027],
        ["tBTCUSD", 59970, 1, 59990, 1, 0, 0, 59980, 1, 60000, 59000],
    ]

    answers = bitfinex.parse(_decoded(payload), ["XMR/BTC", "BTC/USD", "XMR/USD"])

    assert bitfinex.request(["XMR/BTC", "BTC/USD"]) == (
        "/v2/tickers",
        {"symbols": "tXMRBTC,tBTCUSD"},
    )
    assert answers["XMR/BTC"] == Decimal("0.00279")
    assert answers["BTC/USD"] == Decimal("59980")
    assert "no tXMRUSD ticker" in answers["XMR/USD"].message


def test_kucoin_splits_books_from_fiat_prices_one_call_per_fiat_currency():
    kucoin = get_provider("kucoin")

    batches = kucoin.batches(PAIRS)
    answers = kucoin.parse(
        _decoded({"code": "200000", "data": {"BTC": "60030.12", "XMR": "0"}}),
        ["BTC/USD", "XMR/USD"],
    )

    assert batches == [("XMR/BTC",), ("BTC/USD", "XMR/USD"), ("BTC/EUR", "XMR/EUR")]
    assert kucoin.request(batches[0]) == (
        "/api/v1/market/orderbook/level1",
        {"symbol": "XMR-BTC"},
    )
    assert kucoin.request(batches[2]) == (
        "/api/v1/prices",
        {"base": "EUR", "currencies": "BTC,XMR"},
    )
    assert answers["BTC/USD"] == Decimal("60030.12")
    assert isinstance(answers["XMR/USD"], ProviderBadResponse)  # a zero price


def test_coingecko_prices_many_pairs_from_one_answer():
    coingecko = get_provider("coingecko")
    payload = {"bitcoin": {"btc": 1, "usd": 60010.5}, "monero": {"btc": 0.002805, "usd": 168.1}}

    path, params = coingecko.request(PAIRS)
    answers = coingecko.parse(_decoded(payload), PAIRS)

    assert path == "/api/v3/simple/price"
    assert params == {"ids": "bitcoin,monero", "vs_currencies": "btc,eur,usd", "precision": "full"}
    assert answers["BTC/USD"] == Decimal("60010.5")
    assert type(answers["XMR/USD"]) is Decimal
    assert answers["XMR/BTC"] == Decimal("0.002805")
    assert answers["BTC/EUR"].message == "no eur price for bitcoin"


def test_the_static_provider_quotes_each_pair_from_its_setting_or_through_btc(settings):
    static = get_provider("static")
    settings.RATES_FIAT_CURRENCIES = ["USD", "EUR", "GBP", "JPY"]
    settings.RATES_STATIC_XMR_EUR = "150"
    settings.RATES_STATIC_BTC_JPY = "9000000"

    answers = static.fetch_pairs(rates_pairs())

    assert static.symbol("XMR/USD") == "RATES_STATIC_XMR_BTC × RATES_STATIC_BTC_USD"
    assert static.symbol("XMR/EUR") == "RATES_STATIC_XMR_EUR"
    assert static.symbol("BTC/GBP") is None
    assert [p for p in rates_pairs() if static.symbol(p) is None] == ["BTC/GBP", "XMR/GBP"]
    assert answers["XMR/USD"] == Decimal("168")
    assert answers["XMR/EUR"] == Decimal("150")
    assert answers["XMR/JPY"] == Decimal("25200")
    assert isinstance(answers["BTC/GBP"], ProviderBadResponse)


@pytest.mark.parametrize(
    ("setting", "value"), [("RATES_STATIC_BTC_USD", "0"), ("RATES_STATIC_XMR_BTC", "x")]
)
def test_a_bad_static_leg_fails_the_pairs_derived_from_it_by_name(settings, setting, value):
    setattr(settings, setting, value)

    answers = get_provider("static").fetch_pairs(["XMR/USD", "XMR/EUR"])

    assert setting in answers["XMR/USD"].message
    assert (type(answers["XMR/EUR"]) is Decimal) == (setting == "RATES_STATIC_BTC_USD")
