"""Celery: the broker, the workers and beat, their queues and heartbeats, and Flower.

``exchange.celery`` reads the ``CELERY_*`` names (``exchange.settings`` imports every name
here); ``exchange.beat`` runs the one beat with BEAT_LOCK_TTL_SECONDS' lock.
"""

from __future__ import annotations

from exchange.config.cache import REDIS_URL
from exchange.config.env import env

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "exchange.beat:LockedDatabaseScheduler"
# Save last_run_at after every sent task, so a beat taking over from a dead leader
# does not resend what was already sent.
CELERY_BEAT_SYNC_EVERY = 1
# The longest countdown any task uses is WEBHOOK_RETRY_DELAYS' last step (600 s); a task
# runs at most CELERY_TASK_TIME_LIMIT (300 s). The visibility timeout must exceed both,
# or Redis hands a delayed or running message to a second worker.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
# RabbitMQ only (README, Scaling out): the queues' type, and how many times a quorum queue
# delivers one message before dropping it (a step that kills its worker every time, say;
# the payout sweep drives such a payout again from the database).
CELERY_QUEUE_TYPE = env.str("CELERY_QUEUE_TYPE", default="quorum")
CELERY_QUEUE_DELIVERY_LIMIT = env.int("CELERY_QUEUE_DELIVERY_LIMIT", default=20)


def broker_is_rabbitmq(url: str) -> bool:
    return url.partition("://")[0] in ("amqp", "amqps", "pyamqp")


def broker_transport_options(url: str) -> dict:
    """The transport options of the broker at ``url``.

    RabbitMQ redelivers an unacknowledged message as soon as its consumer's connection
    closes, so it has no visibility timeout; publisher confirms make ``delay()`` return
    only once the broker holds the message.
    """
    if broker_is_rabbitmq(url):
        return {"confirm_publish": True, "connect_timeout": 5}
    return {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        "socket_timeout": 5,
        "socket_connect_timeout": 5,
    }


CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(CELERY_BROKER_URL)
# On RabbitMQ a lost connection hands the worker's unacknowledged messages to another
# worker at once: the tasks still running here are cancelled rather than run twice side
# by side (each is safe to run twice; one copy at a time is still the better rule). On
# Redis the message waits for the visibility timeout, so they are left to finish.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = broker_is_rabbitmq(CELERY_BROKER_URL)
CELERY_QUEUES = ("transactions", "scheduled", "rates", "webhooks")
CELERY_TASK_DEFAULT_QUEUE = "transactions"
HEARTBEAT_INTERVAL_SECONDS = env.int("HEARTBEAT_INTERVAL_SECONDS", default=15)
HEARTBEAT_STALE_SECONDS = env.int("HEARTBEAT_STALE_SECONDS", default=90)
BEAT_LOCK_TTL_SECONDS = env.int("BEAT_LOCK_TTL_SECONDS", default=30)

# Flower, for operators.
FLOWER_PORT = env.int("FLOWER_PORT", default=5555)
FLOWER_BASIC_AUTH = env.str("FLOWER_BASIC_AUTH", default="")
