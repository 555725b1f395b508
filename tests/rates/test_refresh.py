"""The refresh: concurrent fetch, median, outlier drop, quorum, snapshot, cache."""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from exchange.redis import get_redis
from rates.aggregation import SourceResult, rates_aggregate
from rates.cache import CACHE_KEY, rate_cache_memory
from rates.errors import RateUnavailable
from rates.models import RateSnapshot
from rates.selectors import rate_current
from tests.rates.exchanges import GOOD_VALUES, kucoin_level1

pytestmark = pytest.mark.django_db


def _result(name, value, error=None):
    return SourceResult(name, None if value is None else Decimal(value), error, 10)


def _assert_nothing_cached():
    assert rate_cache_memory() is None
    assert get_redis().get(CACHE_KEY) is None


# --- aggregation, on its own -----------------------------------------------------


def test_median_of_an_odd_and_an_even_number_of_sources():
    odd = rates_aggregate(
        [_result("a", "0.0028"), _result("b", "0.0029"), _result("c", "0.00285")],
        max_deviation=Decimal("5"),
        quorum=2,
    )
    even = rates_aggregate(
        [_result("a", "0.0028"), _result("b", "0.0029")], max_deviation=Decimal("5"), quorum=2
    )

    assert odd.rate == Decimal("0.00285")
    assert even.rate == Decimal("0.00285")
    assert type(odd.rate) is Decimal
    assert type(even.rate) is Decimal


def test_a_source_exactly_at_the_limit_is_kept_and_one_beyond_is_dropped():
    results = [_result("a", "100"), _result("b", "100"), _result("c", "105"), _result("d", "94.99")]

    aggregate = rates_aggregate(results, max_deviation=Decimal("5"), quorum=2)

    assert aggregate.ok
    assert aggregate.sources["c"]["used"] is True
    assert aggregate.sources["d"]["used"] is False
    assert "5.01% from the median 100" in aggregate.sources["d"]["dropped_reason"]
    assert aggregate.rate == Decimal("100")


def test_the_rate_is_rounded_to_the_stored_precision():
    aggregate = rates_aggregate(
        [_result("a", "0.0028000000000000001"), _result("b", "0.0028000000000000004")],
        max_deviation=Decimal("5"),
        quorum=1,
    )

    assert aggregate.rate == Decimal("0.002800000000000000")
    assert aggregate.rate.as_tuple().exponent == -18


def test_two_sources_too_far_apart_both_drop_and_quorum_fails():
    aggregate = rates_aggregate(
        [_result("a", "0.0028"), _result("b", "0.0035")], max_deviation=Decimal("5"), quorum=2
    )

    assert not aggregate.ok
    assert aggregate.rate is None
    assert aggregate.error.startswith("quorum not met: 0 of 2")


# --- refresh against the local exchanges -----------------------------------------


def test_the_static_provider_is_the_default(refresh, settings):
    assert settings.RATES_PROVIDERS == ["static"]

    snapshot = refresh()

    assert snapshot.ok
    assert snapshot.rate == Decimal(settings.RATES_STATIC_XMR_BTC)
    assert snapshot.sources["static"] == {
        "value": settings.RATES_STATIC_XMR_BTC,
        "error": None,
        "latency_ms": snapshot.sources["static"]["latency_ms"],
        "used": True,
        "dropped_reason": None,
    }
    current = rate_current()
    assert type(current.rate) is Decimal
    assert current.rate == Decimal(settings.RATES_STATIC_XMR_BTC)
    assert current.sources == ("static",)


def test_all_four_providers_agree_on_the_median(exchanges, refresh):
    snapshot = refresh()

    assert snapshot.ok, snapshot.error
    assert snapshot.pair == "XMR/BTC"
    # 0.00279, 0.0028, 0.002805, 0.002811 -> (0.0028 + 0.002805) / 2
    assert snapshot.rate == Decimal("0.0028025")
    assert snapshot.sources_used == 4
    stored = RateSnapshot.objects.get(id=snapshot.id)
    assert type(stored.rate) is Decimal
    assert stored.rate == Decimal("0.0028025")
    for name, value in GOOD_VALUES.items():
        entry = stored.sources[name]
        assert Decimal(entry["value"]) == value
        assert entry["used"] is True
        assert entry["error"] is None
        assert isinstance(entry["latency_ms"], int)


def test_the_agreed_rate_is_cached_in_memory_and_redis(exchanges, refresh):
    snapshot = refresh()

    cached = json.loads(get_redis().get(CACHE_KEY))
    assert cached["rate"] == str(snapshot.rate)
    assert cached["snapshot_id"] == snapshot.id
    assert cached["fetched_at"] == snapshot.created_at.isoformat()
    assert sorted(cached["sources"]) == sorted(GOOD_VALUES)
    assert 0 < get_redis().ttl(CACHE_KEY) <= 1200
    memory = rate_cache_memory()
    assert memory.snapshot_id == snapshot.id
    assert memory.rate == snapshot.rate


def test_an_outlier_is_dropped_and_the_median_recomputed(exchanges, refresh):
    exchanges.respond("kucoin", 200, kucoin_level1("0.0035", "0.0035"))

    snapshot = refresh()

    assert snapshot.ok
    # median of 0.0028, 0.002805, 0.00279 (kucoin is ~25% away)
    assert snapshot.rate == Decimal("0.0028")
    kucoin = snapshot.sources["kucoin"]
    assert kucoin["used"] is False
    assert kucoin["value"] == "0.0035"
    assert "% from the median" in kucoin["dropped_reason"]
    assert snapshot.sources_used == 3


def test_quorum_not_met_stores_a_failed_snapshot_and_caches_nothing(exchanges, refresh, settings):
    settings.RATES_PROVIDERS = ["kraken", "kucoin", "coingecko"]
    settings.RATES_QUORUM = 3
    exchanges.set("kucoin", "500")

    snapshot = refresh()

    assert not snapshot.ok
    assert snapshot.rate is None
    assert snapshot.error.startswith("quorum not met: 2 of 3 required sources agree")
    assert "kucoin: unavailable: HTTP 500" in snapshot.error
    assert RateSnapshot.objects.get(id=snapshot.id).ok is False
    _assert_nothing_cached()
    with pytest.raises(RateUnavailable, match="no fresh XMR/BTC rate"):
        rate_current()


def test_the_quorum_is_lowered_to_the_number_of_providers(exchanges, refresh, settings):
    settings.RATES_PROVIDERS = ["kraken"]
    settings.RATES_QUORUM = 2

    snapshot = refresh()

    assert snapshot.ok
    assert snapshot.rate == GOOD_VALUES["kraken"]


def test_a_hung_provider_does_not_hold_the_refresh(exchanges, refresh, settings):
    settings.RATES_PROVIDER_TIMEOUT = 1
    exchanges.set("kraken", "hang")
    started = time.monotonic()

    snapshot = refresh()

    elapsed = time.monotonic() - started
    assert elapsed < settings.RATES_PROVIDER_TIMEOUT + 1
    assert snapshot.ok
    assert snapshot.sources["kraken"]["error"].startswith("unavailable: no answer within 1")
    assert snapshot.sources["kraken"]["used"] is False
    # median of kucoin 0.002811, coingecko 0.002805, bitfinex 0.00279
    assert snapshot.rate == Decimal("0.002805")


def test_every_provider_hung_still_finishes_in_time(exchanges, refresh, settings):
    settings.RATES_PROVIDER_TIMEOUT = 1
    for name in GOOD_VALUES:
        exchanges.set(name, "hang" if name != "bitfinex" else "trickle")
    started = time.monotonic()

    snapshot = refresh()

    assert time.monotonic() - started < settings.RATES_PROVIDER_TIMEOUT + 1
    assert not snapshot.ok
    _assert_nothing_cached()


def test_all_providers_down_refuses_quotes_with_a_clear_error(exchanges, refresh):
    exchanges.set("kraken", "500")
    exchanges.set("kucoin", "429")
    exchanges.set("coingecko", "garbage")
    exchanges.set("bitfinex", "error")

    snapshot = refresh()

    assert not snapshot.ok
    assert snapshot.rate is None
    assert snapshot.error.startswith("no provider answered")
    for fragment in (
        "kraken: unavailable: HTTP 500",
        "kucoin: unavailable: HTTP 429",
        "coingecko: bad response: not JSON",
        "bitfinex: bad response: Bitfinex error 10020",
    ):
        assert fragment in snapshot.error
    _assert_nothing_cached()
    with pytest.raises(RateUnavailable) as caught:
        rate_current()
    assert caught.value.status_code == 503
    assert caught.value.message.startswith("no fresh XMR/BTC rate: no provider quorum")
    assert "the last refresh at" in caught.value.message
    assert "no provider answered" in caught.value.message
    assert caught.value.extra["last_error"] == snapshot.error
    _assert_nothing_cached()


def test_a_failed_refresh_keeps_the_last_agreed_rate_until_it_is_too_old(exchanges, refresh):
    good = refresh()
    for name in GOOD_VALUES:
        exchanges.set(name, "500")

    failed = refresh()

    assert not failed.ok
    assert rate_current().snapshot_id == good.id


def test_running_twice_stores_two_snapshots_and_caches_the_newest(exchanges, refresh):
    first = refresh()
    second = refresh()

    assert first.ok
    assert second.ok
    assert second.id != first.id
    assert rate_current().snapshot_id == second.id
    assert json.loads(get_redis().get(CACHE_KEY))["snapshot_id"] == second.id


def test_a_redis_outage_is_logged_not_raised(exchanges, refresh, settings, caplog):
    real_url = settings.REDIS_URL
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    get_redis.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="rates.services"):
            snapshot = refresh()
            current = rate_current()
    finally:
        settings.REDIS_URL = real_url
        get_redis.cache_clear()

    assert snapshot.ok
    assert current.snapshot_id == snapshot.id
    assert "cannot write rates:current to Redis" in caplog.text


@pytest.mark.parametrize("rate", [None, Decimal("0"), Decimal("-0.0028")])
def test_the_database_refuses_an_agreed_snapshot_without_a_positive_rate(rate):
    with pytest.raises(IntegrityError), transaction.atomic():
        RateSnapshot.objects.create(ok=True, rate=rate)
