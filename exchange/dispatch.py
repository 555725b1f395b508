"""The one way services start a task: by its registered name.

Tasks import services; services never import tasks. A service that wants a step run
later names the task here (``enqueue("orders.advance", order_id)``) and the Celery app
looks it up in its registry, with the queue and options its decorator gave it.
"""

from __future__ import annotations

from typing import Any

from celery.exceptions import NotRegistered

from exchange.celery import app


def enqueue(name: str, *args: Any, **options: Any):
    """Send the task registered as ``name`` with positional ``args``; ``options`` are
    ``apply_async``'s (``countdown``, ``retry``, ``connection``). Raises what the broker
    raises: callers that must never fail catch it and leave the step to a sweep."""
    return task_named(name).apply_async(args=list(args), **options)


def task_named(name: str):
    """The registered task; outside a worker the apps' task modules are read on first use."""
    try:
        return app.tasks[name]
    except NotRegistered:
        app.loader.import_default_modules()
        return app.tasks[name]
