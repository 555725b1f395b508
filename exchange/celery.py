"""The Celery app: four queues, JSON only, time limits, settings from Django.

Queues
- ``transactions``: saga steps that talk to a node (payouts, account labelling, pool refill).
  Tasks there are ``acks_late`` with ``reject_on_worker_lost`` and a prefetch of 1, so a
  killed worker's step is redelivered; every step is safe to run twice.
- ``scheduled``: periodic scans, balance sync, sweeps, heartbeats.
- ``rates``: rate refreshes.
- ``webhooks``: deliveries to integrators' endpoints, on a worker of their own (the
  Procfile's ``webhooks`` line), so a slow or hanging receiver never delays a scan or a
  payout.
Each task names its queue on its decorator; ``TRANSACTIONS`` holds the options shared by
every saga step.
"""

from __future__ import annotations

import os
from typing import TypedDict

from celery import Celery, signals
from django.db import OperationalError
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")

from django.conf import settings  # noqa: E402 - after the settings module is named

app = Celery("exchange")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in settings.CELERY_QUEUES]
app.autodiscover_tasks()


class TaskOptions(TypedDict, total=False):
    """Decorator options that tasks share (``@shared_task(**TRANSACTIONS)``)."""

    queue: str
    acks_late: bool
    reject_on_worker_lost: bool
    max_retries: int
    retry_backoff: int
    retry_backoff_max: int
    retry_jitter: bool


# Options every saga step on the ``transactions`` queue shares (the seed's policy:
# 3 attempts, exponential backoff from 5 s, with jitter; max countdown well under the
# broker's visibility timeout).
TRANSACTIONS: TaskOptions = {
    "queue": "transactions",
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": 2,  # 3 attempts in all
    "retry_backoff": 5,
    "retry_backoff_max": 60,
    "retry_jitter": True,
}
# A deadlock, a lock wait timeout or a lost database connection aborts a step before it
# commits: every step is safe to run twice, so it runs again (with the backoff above).
DATABASE_TRANSIENT = (OperationalError,)
SCHEDULED: TaskOptions = {"queue": "scheduled"}
# Deliveries to integrators: their own worker, so slow receivers never hold scans or payouts.
WEBHOOKS: TaskOptions = {"queue": "webhooks"}
RATES: TaskOptions = {
    "queue": "rates",
    "max_retries": 4,  # 5 attempts in all
    "retry_backoff": 5,
    "retry_backoff_max": 120,
    "retry_jitter": True,
}


@signals.task_prerun.connect
def _bind_log_context(sender=None, task=None, args=None, kwargs=None, **_):
    from exchange.logging import bind_task_context

    bind_task_context(task, args, kwargs)


@signals.task_success.connect
def _count_success(sender=None, **_):
    from exchange.metrics import metric_incr

    metric_incr("task_outcomes", {"task": sender.name, "outcome": "success"})


@signals.task_failure.connect
def _count_failure(sender=None, **_):
    from exchange.metrics import metric_incr

    metric_incr("task_outcomes", {"task": sender.name, "outcome": "failure"})


@signals.task_retry.connect
def _count_retry(sender=None, **_):
    from exchange.metrics import metric_incr

    metric_incr("task_outcomes", {"task": sender.name, "outcome": "retry"})
