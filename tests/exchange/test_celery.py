from celery import current_app
from django.conf import settings

from devtools.processes import wait_until
from exchange.celery import DATABASE_TRANSIENT, app
from exchange.models import Heartbeat
from exchange.schedules import SCHEDULES
from exchange.tasks import heartbeat_task

QUEUES = {"transactions", "scheduled", "rates", "webhooks"}


def _our_tasks():
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_four_queues_json_only_and_a_visibility_timeout_above_every_countdown():
    conf = app.conf

    assert {q.name for q in conf.task_queues} == QUEUES
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_soft_time_limit < conf.task_time_limit
    longest_countdown = max(settings.CELERY_TASK_TIME_LIMIT, 600)
    assert conf.broker_transport_options["visibility_timeout"] > longest_countdown


def test_every_task_names_its_queue_and_transactions_steps_survive_a_lost_worker():
    tasks = _our_tasks()
    assert "exchange.heartbeat" in tasks
    for name, task in tasks.items():
        assert task.queue in QUEUES, f"{name} has no queue"
        if task.queue == "transactions":
            assert task.acks_late, name
            assert task.reject_on_worker_lost, name
            # A deadlock or a lost database connection runs the step again.
            if task.autoretry_for:
                assert set(DATABASE_TRANSIENT) <= set(task.autoretry_for), name


def test_every_schedule_names_a_registered_task_on_a_known_queue():
    tasks = _our_tasks()
    for sched in SCHEDULES:
        assert sched.task in tasks, sched.name
        assert sched.queue in QUEUES, sched.name


def test_a_task_runs_on_a_real_worker_through_the_broker(live_db, celery_worker):
    Heartbeat.objects.filter(name="worker:transactions").delete()

    heartbeat_task.apply_async(kwargs={"queue": "transactions"}, queue="transactions")

    row = wait_until(
        lambda: Heartbeat.objects.filter(name="worker:transactions").first(),
        timeout=20,
        what="the worker to run the heartbeat",
    )
    assert row.hostname
    assert current_app.main == "exchange"
