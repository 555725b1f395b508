"""The one way services start a task: by its registered name.

Tasks import services; services never import tasks. A service that wants a step run
later names the task here (``enqueue("orders.advance", order_id)``) and the Celery app
looks it up in its registry, with the queue and options its decorator gave it.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from celery.exceptions import NotRegistered

from exchange.celery import app


def enqueue(name: str, *args: Any, **options: Any):
    """Send the task registered as ``name`` with positional ``args``; ``options`` are
    ``apply_async``'s (``countdown``, ``retry``, ``connection``). Raises what the broker
    raises: callers that must never fail catch it and leave the step to a sweep."""
    return task_named(name).apply_async(args=list(args), **options)


_registering = threading.Lock()


def task_named(name: str):
    """The registered task (``<app>.<task>``). Outside a worker the app's task module is
    read on first use, by one thread at a time: a second thread would otherwise see it half
    read (the chain listener asks for scans from two threads at once)."""
    if name not in app.tasks:
        with _registering:
            if name not in app.tasks:
                importlib.import_module(f"{name.partition('.')[0]}.tasks")
    try:
        return app.tasks[name]
    except NotRegistered:
        raise NotRegistered(f"no task is registered as {name!r}") from None
