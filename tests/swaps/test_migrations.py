"""What the swaps app's data migrations do to the rows an upgraded database already holds:
the content types and beat schedules made when quotes and liquidity lived in rates and
swap orders in orders."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from exchange.celery import app

pytestmark = pytest.mark.django_db

MOVED = ("quote", "liquidity", "liquidityreservation")


@pytest.fixture
def content_types():
    ContentType.objects.clear_cache()
    yield importlib.import_module("swaps.migrations.0002_content_types")
    ContentType.objects.clear_cache()


def test_the_moved_models_keep_their_content_types_and_permissions(content_types):
    before = {m: ContentType.objects.get(app_label="swaps", model=m).id for m in MOVED}
    view_quote = Permission.objects.get(content_type_id=before["quote"], codename="view_quote")

    content_types.backward(apps, None)
    assert {m: ContentType.objects.get(app_label="rates", model=m).id for m in MOVED} == before
    content_types.forward(apps, None)

    assert {m: ContentType.objects.get(app_label="swaps", model=m).id for m in MOVED} == before
    assert not ContentType.objects.filter(app_label="rates", model__in=MOVED).exists()
    assert Permission.objects.get(codename="view_quote", content_type__app_label="swaps") == (
        view_quote
    )


def test_a_content_type_already_made_for_swaps_is_left_alone(content_types):
    current = ContentType.objects.get(app_label="swaps", model="quote")
    stale = ContentType.objects.create(app_label="rates", model="quote")

    content_types.forward(apps, None)

    current.refresh_from_db()
    stale.refresh_from_db()
    assert (current.app_label, stale.app_label) == ("swaps", "rates")


def test_beat_rows_naming_the_old_purge_task_are_renamed_to_a_registered_task():
    migration = importlib.import_module("swaps.migrations.0003_quotes_purge_task_name")
    every, _ = IntervalSchedule.objects.get_or_create(every=3600, period=IntervalSchedule.SECONDS)
    row = PeriodicTask.objects.create(
        name="purge: old quotes (before the move)", task="rates.quotes_purge", interval=every
    )

    migration.forward(apps, None)

    row.refresh_from_db()
    app.loader.import_default_modules()
    assert row.task == "swaps.quotes_purge"
    assert row.task in app.tasks
    assert "rates.quotes_purge" not in app.tasks

    migration.backward(apps, None)
    row.refresh_from_db()
    assert row.task == "rates.quotes_purge"


@pytest.fixture
def swap_orders_moved():
    ContentType.objects.clear_cache()
    yield importlib.import_module("swaps.migrations.0005_swap_orders_content_type_and_tasks")
    ContentType.objects.clear_cache()


def test_swap_orders_keep_their_content_type_and_permissions(swap_orders_moved):
    before = ContentType.objects.get(app_label="swaps", model="swaporder").id
    change = Permission.objects.get(content_type_id=before, codename="change_swaporder")

    swap_orders_moved.backward(apps, None)
    assert ContentType.objects.get(app_label="orders", model="swaporder").id == before
    swap_orders_moved.forward(apps, None)

    assert ContentType.objects.get(app_label="swaps", model="swaporder").id == before
    assert not ContentType.objects.filter(app_label="orders", model="swaporder").exists()
    assert Permission.objects.get(codename="change_swaporder", content_type__app_label="swaps") == (
        change
    )


def test_beat_rows_naming_the_old_swap_tasks_are_renamed_to_registered_tasks(swap_orders_moved):
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    row = PeriodicTask.objects.create(
        name="swap expiry (before the move)", task="orders.swaps_expire", interval=every
    )

    swap_orders_moved.forward(apps, None)

    row.refresh_from_db()
    app.loader.import_default_modules()
    assert row.task == "swaps.expire"
    assert row.task in app.tasks

    swap_orders_moved.backward(apps, None)
    row.refresh_from_db()
    assert row.task == "orders.swaps_expire"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("orders.swap_apply_deposits", "swaps.apply_deposits"),
        ("orders.swap_advance", "swaps.advance"),
        ("orders.swaps_expire", "swaps.expire"),
    ],
)
def test_a_message_queued_under_an_old_swap_task_name_still_finds_the_same_step(old, new):
    app.loader.import_default_modules()

    options = ("queue", "autoretry_for", "acks_late", "max_retries", "retry_backoff")
    assert [getattr(app.tasks[old], o, None) for o in options] == [
        getattr(app.tasks[new], o, None) for o in options
    ]
