"""GET /api/rates: the XMR/BTC answer clients read, every other pair beside it, one pair
alone with ``?pair=``."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from rates.models import RateSnapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_the_xmr_btc_answer_is_unchanged_and_the_other_pairs_are_beside_it(api, refresh):
    snapshot = refresh()

    body = api.get("/api/rates").json()

    assert body["pair"] == "XMR/BTC"
    assert Decimal(body["rate"]) == snapshot.rate
    assert body["sources"] == [{"provider": "static", "value": "0.0028", "used": True}]
    for key in ("fetched_at", "age_seconds", "spread_bps", "available"):
        assert key in body
    assert set(body["pairs"]) == {"XMR/BTC", "BTC/USD", "BTC/EUR", "XMR/USD", "XMR/EUR"}
    assert Decimal(body["pairs"]["BTC/USD"]["rate"]) == Decimal("60000")
    assert Decimal(body["pairs"]["XMR/EUR"]["rate"]) == Decimal("154")  # 0.0028 x 55000
    assert body["pairs"]["XMR/USD"]["sources"] == [
        {"provider": "static", "value": "168.0000", "used": True}
    ]


def test_the_snapshots_sources_are_read_from_the_database_once(api, refresh):
    refresh()
    first = api.get("/api/rates").json()

    with CaptureQueriesContext(connection) as queries:
        again = api.get("/api/rates").json()

    def sources(body):
        return [
            body["sources"],
            *(body["pairs"][pair]["sources"] for pair in sorted(body["pairs"])),
        ]

    assert sources(again) == sources(first)
    assert first["sources"] == [{"provider": "static", "value": "0.0028", "used": True}]
    assert not [q for q in queries if RateSnapshot._meta.db_table in q["sql"]]


def test_one_pair_alone_either_way_round(api, refresh):
    refresh()

    usd = api.get("/api/rates", {"pair": "BTC/USD"})
    inverse = api.get("/api/rates", {"pair": "btc/xmr"})

    assert usd.status_code == 200
    assert usd.json()["pair"] == "BTC/USD"
    assert Decimal(usd.json()["rate"]) == Decimal("60000")
    assert "pairs" not in usd.json()
    assert inverse.json()["pair"] == "BTC/XMR"
    assert Decimal(inverse.json()["rate"]) == (1 / Decimal("0.0028")).quantize(Decimal("1e-18"))


@pytest.mark.parametrize("pair", ["XMR/GBP", "USD/EUR", "XMRBTC", ""])
def test_a_pair_not_priced_here_is_a_400_naming_the_field(api, refresh, pair):
    refresh()

    answer = api.get("/api/rates", {"pair": pair})

    assert answer.status_code == 400
    assert "pair" in answer.json()


def test_a_pair_without_a_fresh_rate_shows_its_error_and_the_others_still_answer(
    api, refresh, settings
):
    refresh()
    RateSnapshot.objects.filter(pair="BTC/EUR").delete()
    settings.RATES_STATIC_BTC_EUR = "0"
    from rates.cache import rate_cache_clear

    rate_cache_clear()
    failed = refresh()  # BTC/EUR and XMR/EUR fail, the rest agree again

    body = api.get("/api/rates").json()
    alone = api.get("/api/rates", {"pair": "BTC/EUR"})

    assert failed.ok
    assert body["pairs"]["BTC/EUR"]["rate"] is None
    assert body["pairs"]["BTC/EUR"]["error"].startswith("no fresh BTC/EUR rate")
    assert body["pairs"]["BTC/USD"]["rate"] is not None
    assert alone.status_code == 503
    assert alone.headers["Retry-After"]
