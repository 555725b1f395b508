"""RabbitMQ as the test run's broker, for the fault scenarios' RabbitMQ variant.

Each test slot has a virtual host of its own (``tests-{SLOT}``), made afresh for the run as
the slot's Redis database is flushed, so two runs on one machine never take each other's
tasks. ``broker_switched`` points this process's Celery app at another broker and back;
the workers and beats a test starts inherit the same URL.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator

from django.conf import settings
from kombu import pools

from tests.testenv import SLOT

RABBITMQ_VHOST = f"tests-{SLOT}"
RABBITMQ_URL = f"amqp://guest:guest@127.0.0.1:5672/{RABBITMQ_VHOST}"


def rabbitmq_vhost_fresh() -> None:
    """The slot's virtual host, emptied: deleted (with its queues) and made again."""

    def ctl(*args: str, check: bool = True) -> None:
        subprocess.run(["rabbitmqctl", "-q", *args], check=check, capture_output=True, timeout=60)

    ctl("delete_vhost", RABBITMQ_VHOST, check=False)
    ctl("add_vhost", RABBITMQ_VHOST)
    ctl("set_permissions", "-p", RABBITMQ_VHOST, "guest", ".*", ".*", ".*")


def _point_app_at(url: str) -> None:
    from exchange.celery import app, task_queues
    from exchange.config.workers import broker_is_rabbitmq, broker_transport_options

    # Celery takes its pool from kombu's registry of pools by connection: closing one and
    # leaving it there would hand the closed pool back on the switch back. Every pool is
    # closed and forgotten.
    pools.reset()
    # Celery reads the broker's URL from this variable before its settings; the processes
    # the launcher starts inherit it.
    os.environ["CELERY_BROKER_URL"] = url
    app.conf.update(
        broker_url=url,
        broker_transport_options=broker_transport_options(url),
        task_queues=task_queues(url),
        worker_cancel_long_running_tasks_on_connection_loss=broker_is_rabbitmq(url),
    )
    # The pools, queue declarations and router were built for the previous broker.
    app._pool = None
    app.__dict__.pop("amqp", None)


@contextlib.contextmanager
def broker_switched(url: str) -> Iterator[None]:
    """This process's Celery app, and the processes the launcher starts, on ``url``."""
    before = settings.CELERY_BROKER_URL
    _point_app_at(url)
    try:
        yield
    finally:
        _point_app_at(before)
