"""Logging: the level and format read from the environment, and applying them.

Django's own logging set-up is off (LOGGING_CONFIG = None): ``exchange.settings`` calls
``configure_logging`` once its other settings are read, which configures structlog and
the standard loggers from ``exchange.logging``.
"""

from __future__ import annotations

from exchange.config.env import env

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# json: one JSON object per line (with request, task, order, swap and payout ids); plain: text.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING_CONFIG = None


def configure_logging() -> None:
    import logging.config

    from exchange.logging import logging_config

    logging.config.dictConfig(logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT))
