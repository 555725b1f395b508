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

On RabbitMQ the queues are quorum queues (replicated, with a delivery limit) behind topic
exchanges, so that countdowns and retries wait in the broker's delayed-delivery queues
rather than in a worker's memory (README, Scaling out); on Redis they are plain lists.
"""

from __future__ import annotations

import os
from typing import TypedDict

from celery import Celery, signals
from django.db import OperationalError
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")

from django.conf import settings  # noqa: E402 - after the settings module is named

app = Celery("exchange")
app.config_from_object("django.conf:settings", namespace="CELERY")


def task_queues(broker_url: str) -> list[Queue]:
    """The engine's queues as the broker at ``broker_url`` declares them."""
    from exchange.config.workers import broker_is_rabbitmq

    if not broker_is_rabbitmq(broker_url) or settings.CELERY_QUEUE_TYPE == "classic":
        return [Queue(name) for name in settings.CELERY_QUEUES]
    arguments = {
        "x-queue-type": settings.CELERY_QUEUE_TYPE,
        "x-delivery-limit": settings.CELERY_QUEUE_DELIVERY_LIMIT,
    }
    return [
        Queue(name, Exchange(name, type="topic"), routing_key=name, queue_arguments=arguments)
        for name in settings.CELERY_QUEUES
    ]


app.conf.task_queues = task_queues(settings.CELERY_BROKER_URL)


@signals.worker_init.connect
def _declare_every_queue(sender=None, **_):
    """On RabbitMQ a worker binds every queue of the engine to the delayed-delivery
    exchanges, also those it does not consume: they are declared first, so a worker of
    one queue on a fresh broker does not fail to bind the others (and a countdown sent to
    a queue whose workers have not started yet still reaches it)."""
    from exchange.config.workers import broker_is_rabbitmq

    if not broker_is_rabbitmq(app.conf.broker_url):
        return
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in app.amqp.queues.values():
            queue.bind(channel).declare()


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
