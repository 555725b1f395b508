"""The refresh task: its queue and retry policy, a failure that retries, a rerun that is safe.

The task runs in-process here (``apply``/``run``): these tests may not start a worker.
"""

from __future__ import annotations

import pickle
from decimal import Decimal

import pytest

from exchange.celery import app
from rates.errors import RateRefreshFailed
from rates.models import RateSnapshot
from rates.selectors import rate_current
from rates.tasks import rates_refresh_task

pytestmark = pytest.mark.django_db


def test_the_task_is_named_routed_and_retried_as_the_rates_queue_requires():
    task = app.tasks["rates.refresh"]

    assert rates_refresh_task.name == "rates.refresh"
    assert task.queue == "rates"
    assert task.max_retries == 4  # 5 attempts
    assert task.autoretry_for == (RateRefreshFailed,)
    assert task.retry_backoff


def test_an_agreed_refresh_returns_the_snapshot(django_capture_on_commit_callbacks, settings):
    with django_capture_on_commit_callbacks(execute=True):
        result = rates_refresh_task.run()

    snapshot = RateSnapshot.objects.get(id=result["snapshot_id"])
    assert snapshot.ok
    assert result["rate"] == str(snapshot.rate)
    assert Decimal(result["rate"]) == Decimal(settings.RATES_STATIC_XMR_BTC)
    assert rate_current().snapshot_id == snapshot.id


def test_running_twice_is_safe(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = rates_refresh_task.run()
        second = rates_refresh_task.run()

    assert RateSnapshot.objects.filter(ok=True, pair="XMR/BTC").count() == 2
    assert first["rate"] == second["rate"]
    assert rate_current().snapshot_id == second["snapshot_id"]


def test_a_refresh_without_quorum_raises_and_is_retried_five_times_in_all(exchanges):
    for name in ("kraken", "kucoin", "coingecko", "bitfinex"):
        exchanges.set(name, "500")

    result = rates_refresh_task.apply()

    assert result.failed()
    assert isinstance(result.result, RateRefreshFailed)
    assert "no provider answered" in str(result.result)
    assert RateSnapshot.objects.filter(ok=False, pair="XMR/BTC").count() == 5
    assert result.result.snapshot_id == RateSnapshot.objects.filter(pair="XMR/BTC").first().id


def test_a_direct_call_without_quorum_raises_the_typed_error(exchanges):
    exchanges.set("kraken", "500")
    exchanges.set("kucoin", "garbage")
    exchanges.set("coingecko", "zero")
    exchanges.set("bitfinex", "429")

    with pytest.raises(RateRefreshFailed) as caught:
        rates_refresh_task.run()

    assert RateSnapshot.objects.get(id=caught.value.snapshot_id).ok is False


def test_the_failure_survives_pickling_between_worker_processes():
    error = RateRefreshFailed("rate snapshot 7: quorum not met", snapshot_id=7)

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object

    assert str(copy) == "rate snapshot 7: quorum not met"
    assert copy.snapshot_id == 7
