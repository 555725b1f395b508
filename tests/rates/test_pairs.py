"""Every pair refreshed with the XMR/BTC rules: its own median, quorum, outliers and age;
a provider asked only for the pairs it quotes, once per refresh where its API allows."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from exchange.redis import get_redis
from rates.cache import CACHE_KEY, cache_key, rate_cache_clear, rate_cache_memory, rate_cache_redis
from rates.checks import rate_providers_configured
from rates.errors import RateRefreshFailed, RateUnavailable
from rates.models import RateSnapshot
from rates.selectors import rate_current, rates_current
from rates.tasks import rates_refresh_task
from tests.rates.exchanges import FIAT_PAIRS

pytestmark = pytest.mark.django_db

PAIRS = ["XMR/BTC", *FIAT_PAIRS]
# The medians of the fake exchanges' good answers (tests/rates/exchanges.py GOOD_BOOKS).
MEDIANS = {
    "XMR/BTC": Decimal("0.0028025"),  # 0.00279 0.0028 | 0.002805 0.002811
    "BTC/USD": Decimal("60005"),  # 59980 60000 | 60010 60030
    "BTC/EUR": Decimal("55005"),  # 54990 55000 | 55010 55020
    "XMR/USD": Decimal("168.05"),  # 167.9 168.0 | 168.1 168.2
    "XMR/EUR": Decimal("154.05"),  # 154.0 154.05 154.2: Bitfinex has no XMR/EUR
}


@pytest.fixture
def refresh_pairs(django_capture_on_commit_callbacks):
    """``rates_refresh_pairs()`` with its after-commit cache writes run."""
    from rates.services import rates_refresh_pairs

    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return rates_refresh_pairs(**kwargs)

    return run


def test_every_pair_agrees_on_its_own_median_in_one_snapshot_per_refresh(exchanges, refresh_pairs):
    snapshots = refresh_pairs()

    assert list(snapshots) == PAIRS
    for pair, snapshot in snapshots.items():
        assert snapshot.ok, (pair, snapshot.error)
        assert snapshot.pair == pair
        assert snapshot.rate == MEDIANS[pair]
        assert type(RateSnapshot.objects.get(id=snapshot.id).rate) is Decimal
    assert snapshots["XMR/EUR"].sources_used == 3
    assert set(snapshots["XMR/EUR"].sources) == {"kraken", "kucoin", "coingecko"}
    assert len({s.created_at for s in snapshots.values()}) == 1
    assert sorted(RateSnapshot.objects.values_list("pair", flat=True)) == sorted(PAIRS)


def test_each_provider_is_asked_once_for_all_its_pairs_where_its_api_allows(
    exchanges, refresh_pairs
):
    refresh_pairs()

    [kraken] = exchanges.asked("kraken")
    [bitfinex] = exchanges.asked("bitfinex")
    [coingecko] = exchanges.asked("coingecko")
    kucoin = exchanges.asked("kucoin")
    assert kraken.listed("pair") == ["XMRXBT", "XBTUSD", "XBTEUR", "XMRUSD", "XMREUR"]
    assert bitfinex.listed("symbols") == ["tXMRBTC", "tBTCUSD", "tBTCEUR", "tXMRUSD"]
    assert coingecko.listed("ids") == ["bitcoin", "monero"]
    assert coingecko.listed("vs_currencies") == ["btc", "eur", "usd"]
    # KuCoin prices one book per call and one fiat currency per call.
    assert sorted((r.path, json.dumps(r.query, sort_keys=True)) for r in kucoin) == sorted(
        [
            ("/api/v1/market/orderbook/level1", json.dumps({"symbol": ["XMR-BTC"]})),
            ("/api/v1/prices", json.dumps({"base": ["USD"], "currencies": ["BTC,XMR"]})),
            ("/api/v1/prices", json.dumps({"base": ["EUR"], "currencies": ["BTC,XMR"]})),
        ]
    )


def test_a_provider_that_does_not_quote_a_pair_is_not_asked_and_not_counted(
    exchanges, refresh_pairs, settings
):
    settings.RATES_PROVIDERS = ["kraken", "bitfinex"]
    settings.RATES_QUORUM = 2

    snapshots = refresh_pairs()

    xmr_eur = snapshots["XMR/EUR"]
    assert xmr_eur.ok, xmr_eur.error  # quorum 2, lowered to the one provider quoting it
    assert list(xmr_eur.sources) == ["kraken"]
    assert xmr_eur.rate == Decimal("154.0")
    assert "tXMREUR" not in exchanges.last("bitfinex").listed("symbols")
    assert snapshots["XMR/USD"].sources_used == 2
    assert snapshots["XMR/USD"].rate == (Decimal("168.0") + Decimal("167.9")) / 2


def test_the_quorum_is_counted_per_pair(exchanges, refresh_pairs, settings):
    settings.RATES_QUORUM = 3
    exchanges.delist("kucoin", "BTC/EUR")
    exchanges.delist("coingecko", "BTC/EUR")

    snapshots = refresh_pairs()

    btc_eur = snapshots["BTC/EUR"]
    assert not btc_eur.ok
    assert btc_eur.error.startswith("quorum not met: 2 of 3 required sources agree")
    assert btc_eur.sources["kucoin"]["error"] == "bad response: no EUR price for BTC"
    assert btc_eur.sources["coingecko"]["error"] == "bad response: no eur price for bitcoin"
    assert snapshots["XMR/EUR"].ok  # the same calls priced it
    assert all(snapshots[pair].ok for pair in PAIRS if pair != "BTC/EUR")
    assert rate_current("BTC/USD").rate == MEDIANS["BTC/USD"]
    with pytest.raises(RateUnavailable, match="no fresh BTC/EUR rate: no provider quorum") as no:
        rate_current("BTC/EUR")
    assert "quorum not met: 2 of 3" in no.value.message
    assert no.value.extra["pair"] == "BTC/EUR"


def test_the_task_retries_when_any_pair_failed_and_names_it(exchanges, settings):
    settings.RATES_QUORUM = 3
    exchanges.delist("kucoin", "BTC/EUR")
    exchanges.delist("coingecko", "BTC/EUR")

    with pytest.raises(RateRefreshFailed, match="BTC/EUR rate snapshot") as caught:
        rates_refresh_task.run()

    failed = RateSnapshot.objects.get(id=caught.value.snapshot_id)
    assert (failed.pair, failed.ok) == ("BTC/EUR", False)
    assert "XMR/BTC" not in str(caught.value)
    assert RateSnapshot.objects.filter(ok=True).count() == len(PAIRS) - 1


def test_an_outlier_is_dropped_in_its_own_pair_only(exchanges, refresh_pairs):
    exchanges.quote("kucoin", "BTC/USD", "66000")  # 10 % above the others

    snapshots = refresh_pairs()

    btc_usd = snapshots["BTC/USD"]
    assert btc_usd.ok
    assert btc_usd.sources["kucoin"]["used"] is False
    assert "% from the median" in btc_usd.sources["kucoin"]["dropped_reason"]
    assert btc_usd.rate == Decimal("60000")  # median of 59980, 60000, 60010
    assert snapshots["XMR/USD"].sources["kucoin"]["used"] is True


def test_a_price_outside_its_pairs_range_is_refused_for_that_pair_only(exchanges, refresh_pairs):
    exchanges.quote("coingecko", "BTC/USD", "2e12")
    exchanges.quote("kraken", "XMR/BTC", "9000000")

    snapshots = refresh_pairs()

    assert (
        "outside the plausible BTC/USD range" in snapshots["BTC/USD"].sources["coingecko"]["error"]
    )
    assert "outside the plausible XMR/BTC range" in snapshots["XMR/BTC"].sources["kraken"]["error"]
    assert snapshots["BTC/EUR"].sources["coingecko"]["used"] is True
    assert snapshots["BTC/USD"].sources["kraken"]["used"] is True  # 60000: a fine BTC/USD
    assert all(s.ok for s in snapshots.values())


def test_one_failed_call_costs_its_provider_the_pairs_of_that_call_only(exchanges, refresh_pairs):
    exchanges.set("kraken", "500")

    snapshots = refresh_pairs()

    for pair in PAIRS:
        assert snapshots[pair].ok, pair
        assert snapshots[pair].sources["kraken"]["error"] == (
            "unavailable: HTTP 500: <html><body><h1>500 Internal Server Error</h1></body></html>"
        )
    assert snapshots["XMR/EUR"].rate == Decimal("154.125")  # kucoin and coingecko


def _agreed(pair: str, rate: str, *, age_seconds: float) -> RateSnapshot:
    return RateSnapshot.objects.create(
        created_at=timezone.now() - timedelta(seconds=age_seconds),
        pair=pair,
        rate=Decimal(rate),
        ok=True,
        sources={"static": {"value": rate, "used": True, "error": None, "dropped_reason": None}},
    )


def test_a_rate_too_old_is_refused_for_its_pair_alone(settings):
    fresh = _agreed("XMR/BTC", "0.0028", age_seconds=30)
    _agreed("BTC/USD", "60000", age_seconds=settings.RATES_MAX_AGE_SECONDS + 60)
    newer_other_pair = _agreed("XMR/USD", "168", age_seconds=1)

    assert rate_current().snapshot_id == fresh.id
    assert rate_current("XMR/USD").snapshot_id == newer_other_pair.id
    for pair in ("BTC/USD", "USD/BTC"):
        with pytest.raises(RateUnavailable, match="no fresh BTC/USD rate: the newest agreed"):
            rate_current(pair)
    answers = rates_current()
    assert isinstance(answers["BTC/USD"], RateUnavailable)
    assert answers["XMR/BTC"].snapshot_id == fresh.id


def test_an_inverse_pair_is_the_stored_one_inverted_with_decimal(refresh_pairs):
    snapshots = refresh_pairs()

    inverse = rate_current("BTC/XMR")
    usd_btc = rate_current("USD/BTC")

    assert inverse.pair == "BTC/XMR"
    assert type(inverse.rate) is Decimal
    assert inverse.rate == Decimal("357.142857142857142857")  # 1 / 0.0028, 18 places
    assert inverse.snapshot_id == snapshots["XMR/BTC"].id
    assert usd_btc.rate == Decimal("0.000016666666666667")


def test_each_pair_is_cached_under_its_own_key(refresh_pairs):
    snapshots = refresh_pairs()
    r = get_redis()

    assert cache_key("XMR/BTC") == CACHE_KEY == "rates:current"
    for pair, snapshot in snapshots.items():
        blob = json.loads(r.get(cache_key(pair)))
        assert (blob["pair"], blob["snapshot_id"]) == (pair, snapshot.id)
        assert 0 < r.ttl(cache_key(pair)) <= 1200
        assert rate_cache_memory(pair).snapshot_id == snapshot.id
    r.set(cache_key("BTC/EUR"), r.get(cache_key("BTC/USD")))  # another pair's entry
    assert rate_cache_redis("BTC/EUR") is None
    rate_cache_clear()
    assert not any(r.exists(cache_key(pair)) for pair in PAIRS)
    assert rate_cache_memory("BTC/USD") is None


def test_the_static_provider_gives_fixed_fiat_rates_and_derives_xmr_through_btc(
    refresh_pairs, settings
):
    assert settings.RATES_PROVIDERS == ["static"]

    default = refresh_pairs()
    settings.RATES_STATIC_XMR_USD = "170"
    settings.RATES_STATIC_BTC_EUR = "50000"
    changed = refresh_pairs()

    assert {p: s.rate for p, s in default.items()} == {
        "XMR/BTC": Decimal("0.0028"),
        "BTC/USD": Decimal("60000"),
        "BTC/EUR": Decimal("55000"),
        "XMR/USD": Decimal("168"),  # 0.0028 x 60000
        "XMR/EUR": Decimal("154"),  # 0.0028 x 55000
    }
    assert changed["XMR/USD"].rate == Decimal("170")  # its own setting wins
    assert changed["XMR/EUR"].rate == Decimal("140")  # 0.0028 x 50000


def test_a_fiat_currency_nobody_quotes_fails_its_own_pairs_and_is_warned_of(
    refresh_pairs, settings
):
    settings.RATES_FIAT_CURRENCIES = ["usd", "EUR", "GBP"]

    snapshots = refresh_pairs()
    [warning] = rate_providers_configured(None)
    settings.RATES_STATIC_BTC_GBP = "47000"
    quoted = refresh_pairs()

    assert list(snapshots) == [
        "XMR/BTC", "BTC/USD", "BTC/EUR", "BTC/GBP", "XMR/USD", "XMR/EUR", "XMR/GBP"
    ]  # fmt: skip
    for pair in ("BTC/GBP", "XMR/GBP"):
        assert not snapshots[pair].ok
        assert snapshots[pair].error == "no configured provider quotes this pair"
        assert snapshots[pair].sources == {}
    assert all(snapshots[pair].ok for pair in PAIRS)
    assert warning.id == "rates.W001"
    assert "BTC/GBP, XMR/GBP" in warning.msg
    assert quoted["XMR/GBP"].rate == Decimal("131.6")
    assert rate_providers_configured(None) == []


def test_a_bad_fiat_currency_fails_the_start_up_check_by_name(settings):
    settings.RATES_FIAT_CURRENCIES = ["USD", "XMR"]

    [error] = rate_providers_configured(None)

    assert error.id == "rates.E001"
    assert "XMR is a coin, not a fiat" in error.msg
