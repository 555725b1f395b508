"""Reading the rate: memory, then Redis, then the database; never a stale rate."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from exchange.errors import ServiceUnavailable
from exchange.redis import get_redis
from rates.cache import CACHE_KEY, rate_cache_clear, rate_cache_memory
from rates.errors import RateUnavailable
from rates.models import RateSnapshot
from rates.selectors import CurrentRate, rate_current
from rates.services import REFRESH_REQUEST_KEY, rates_refresh_request
from tests.processes import launcher
from tests.testenv import ROOT

pytestmark = pytest.mark.django_db


def _agreed_snapshot(*, age_seconds: float, rate: str = "0.0028") -> RateSnapshot:
    return RateSnapshot.objects.create(
        created_at=timezone.now() - timedelta(seconds=age_seconds),
        rate=Decimal(rate),
        ok=True,
        sources={
            "static": {
                "value": rate,
                "error": None,
                "latency_ms": 0,
                "used": True,
                "dropped_reason": None,
            }
        },
    )


def test_the_current_rate_comes_from_memory_after_a_refresh(refresh):
    snapshot = refresh()

    current = rate_current()

    assert isinstance(current, CurrentRate)
    assert type(current.rate) is Decimal
    assert current.rate == snapshot.rate
    assert current.snapshot_id == snapshot.id
    assert current.fetched_at == snapshot.created_at
    assert 0 <= current.age_seconds < 5
    with pytest.raises(AttributeError):
        current.rate = Decimal("1")  # frozen


def test_without_memory_the_rate_comes_from_redis(refresh):
    snapshot = refresh()
    rate_cache_clear(memory_only=True)
    RateSnapshot.objects.all().delete()  # Redis alone must answer

    current = rate_current()

    assert current.snapshot_id == snapshot.id
    assert current.rate == snapshot.rate
    assert type(current.rate) is Decimal
    assert rate_cache_memory().snapshot_id == snapshot.id


def test_without_any_cache_the_rate_comes_from_the_database_and_is_cached_again():
    snapshot = _agreed_snapshot(age_seconds=60, rate="0.00291")

    current = rate_current()

    assert current.snapshot_id == snapshot.id
    assert current.rate == Decimal("0.00291")
    assert 59 <= current.age_seconds < 65
    assert json.loads(get_redis().get(CACHE_KEY))["snapshot_id"] == snapshot.id
    assert rate_cache_memory().snapshot_id == snapshot.id


def test_the_newest_agreed_snapshot_wins_and_failed_ones_are_ignored():
    _agreed_snapshot(age_seconds=300, rate="0.0027")
    newest = _agreed_snapshot(age_seconds=100, rate="0.0029")
    RateSnapshot.objects.create(ok=False, error="quorum not met: 0 of 2", sources={})

    assert rate_current().snapshot_id == newest.id


def test_a_snapshot_older_than_the_max_age_is_refused(settings):
    _agreed_snapshot(age_seconds=settings.RATES_MAX_AGE_SECONDS + 100)

    with pytest.raises(RateUnavailable) as caught:
        rate_current()

    assert isinstance(caught.value, ServiceUnavailable)
    assert caught.value.status_code == 503
    assert caught.value.headers["Retry-After"]
    assert caught.value.message.startswith("no fresh XMR/BTC rate: the newest agreed rate is")
    assert f"(max {settings.RATES_MAX_AGE_SECONDS} s)" in caught.value.message
    assert "a refresh was requested" in caught.value.message


def test_no_snapshot_at_all_is_refused():
    with pytest.raises(RateUnavailable, match="no provider quorum has been reached yet"):
        rate_current()


def test_a_cached_rate_that_grew_too_old_is_refused_from_every_layer(refresh, settings):
    refresh()
    settings.RATES_MAX_AGE_SECONDS = 1
    time.sleep(1.2)

    with pytest.raises(RateUnavailable, match="s old \\(max 1 s\\)"):
        rate_current()
    assert rate_cache_memory() is not None  # still there, but never returned
    assert get_redis().get(CACHE_KEY) is not None


def test_a_refused_quote_requests_one_refresh_per_30_seconds():
    r = get_redis()
    queued = r.llen("rates")

    for _ in range(3):
        with pytest.raises(RateUnavailable):
            rate_current()

    assert r.llen("rates") == queued + 1
    assert 0 < r.ttl(REFRESH_REQUEST_KEY) <= 30
    message = json.loads(r.lindex("rates", 0))
    assert message["headers"]["task"] == "rates.refresh"
    assert rates_refresh_request() is False


def test_a_refresh_request_never_raises_when_redis_and_the_broker_are_down():
    code = (
        "import time, django; django.setup()\n"
        "from rates.services import rates_refresh_request\n"
        "started = time.monotonic()\n"
        "first = rates_refresh_request()\n"
        "second = rates_refresh_request()\n"
        "print(first, second, round(time.monotonic() - started, 2))\n"
    )
    env = launcher.environ(
        DJANGO_SETTINGS_MODULE="exchange.settings",
        PYTHONPATH=str(ROOT),
        REDIS_URL="redis://127.0.0.1:1/0",
        CELERY_BROKER_URL="redis://127.0.0.1:1/0",
    )

    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    first, second, seconds = done.stdout.split()
    assert (first, second) == ("False", "False")  # not enqueued, and no exception
    assert float(seconds) < 2
    assert "cannot enqueue an on-demand refresh" in done.stderr
    assert done.stderr.count("cannot enqueue") == 1  # the second call was deduplicated
