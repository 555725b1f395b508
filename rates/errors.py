"""Errors of the rates app that leave it: a refused quote (503), an unknown pair (400) and a
failed refresh (retried)."""

from __future__ import annotations

from exchange.errors import ApplicationError, ServiceUnavailable

# Seconds a client should wait before asking again: long enough for an on-demand refresh.
RETRY_AFTER_SECONDS = 30


class RateUnavailable(ServiceUnavailable):
    """No agreed rate of a pair younger than RATES_MAX_AGE_SECONDS: quoting fails closed."""

    code = "rate_unavailable"

    def __init__(self, message: str, *, extra: dict | None = None):
        super().__init__(message, extra=extra, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class RateRefreshFailed(Exception):
    """A refresh stored a snapshot without quorum (for one pair or more); the task raises
    it so Celery retries. ``snapshot_id`` is the failed XMR/BTC snapshot, or else the first
    failed pair's.

    Picklable with its snapshot id, as the prefork pool sends task errors between processes.
    """

    def __init__(self, message: str, snapshot_id: int | None = None):
        super().__init__(message)
        self.snapshot_id = snapshot_id

    def __reduce__(self):
        return self.__class__, (str(self), self.snapshot_id)


class UnknownPair(ApplicationError):
    """A pair name that is malformed, or a pair the engine does not price (HTTP 400)."""

    code = "unknown_pair"

    def __init__(self, message: str, *, field: str = "pair"):
        super().__init__(message, field=field)
