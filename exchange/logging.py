"""Structured logs: one JSON object per line with the ids in play (request, task, order,
swap, payout), from Django's and Celery's loggers alike."""

from __future__ import annotations

import inspect
import re

import structlog

# An anonymous swap's public id is the capability to read it: it is never written to a log.
_SWAP_ID = re.compile(
    r"(/swaps/)[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)


def redact(text: str) -> str:
    """``text`` with every swap's public id in a path replaced by ``{id}``."""
    return _SWAP_ID.sub(r"\1{id}", text)


def redact_capabilities(_logger, _name, event_dict: dict) -> dict:
    for key in ("event", "path"):
        value = event_dict.get(key)
        if isinstance(value, str) and "/swaps/" in value:
            event_dict[key] = redact(value)
    return event_dict


SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    redact_capabilities,
]


def logging_config(*, level: str, fmt: str) -> dict:
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
                "foreign_pre_chain": SHARED,
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # The listener's socket.io client logs every packet at INFO: a ping every few
            # seconds, and the bcoin API key in the packet that authenticates.
            "engineio": {"level": "WARNING"},
            "socketio": {"level": "WARNING"},
        },
    }


def bind_task_context(task, args, kwargs) -> None:
    """Bind the task's id, name and every ``*_id`` argument (order_id, payout_id, …)."""
    structlog.contextvars.clear_contextvars()
    context = {"task_id": task.request.id, "task": task.name}
    try:
        bound = inspect.signature(task.run).bind_partial(*(args or ()), **(kwargs or {}))
        context.update(
            {k: v for k, v in bound.arguments.items() if k.endswith("_id") or k == "chain"}
        )
    except TypeError:
        pass
    structlog.contextvars.bind_contextvars(**context)
