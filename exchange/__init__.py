"""The project package: its configuration, and the small core every app shares.

Project configuration (how the engine is assembled and run):
``settings`` (one module, environment driven), ``urls``, ``wsgi``, ``celery`` (queues and
task options), ``schedules`` and ``beat`` (periodic tasks, the leader lock),
``gunicorn_logging``, ``logging``, ``middleware``, ``health`` (``/healthz``),
``metrics`` (``/metrics``), ``admin`` and ``admin_actions``, and the infrastructure rows of
``models``/``services``/``tasks``/``tokens_api``/``auth``/``legacy_tokens`` (heartbeats,
audit rows, API tokens).

The shared core (what services of every app import; it imports no app's models or services,
only the coin registry, wallets.chains.registry, for units and payment URIs):
``errors`` (the API's error types), ``money`` (base units ⇄ display, payment URIs),
``fields`` (API fields for base units), ``idempotency`` (``Idempotency-Key``),
``dispatch`` (services start tasks by name), ``redis``, ``single_flight``, ``clients``
(who is asking, for per-client limits), ``pagination``, ``permissions``, ``faults`` (fault
injection points for the tests).
"""

from exchange.celery import app as celery_app

__all__ = ("celery_app",)
