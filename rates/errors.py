"""Errors of the rates app that leave it: a refused quote (503) and a failed refresh (retried)."""

from __future__ import annotations

from exchange.errors import ServiceUnavailable

# Seconds a client should wait before asking again: long enough for an on-demand refresh.
RETRY_AFTER_SECONDS = 30


class RateUnavailable(ServiceUnavailable):
    """No agreed XMR/BTC rate younger than RATES_MAX_AGE_SECONDS: quoting fails closed."""

    code = "rate_unavailable"

    def __init__(self, message: str, *, extra: dict | None = None):
        super().__init__(message, extra=extra, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class RateRefreshFailed(Exception):
    """A refresh stored a snapshot without quorum; the task raises it so Celery retries.

    Picklable with its snapshot id, as the prefork pool sends task errors between processes.
    """

    def __init__(self, message: str, snapshot_id: int | None = None):
        super().__init__(message)
        self.snapshot_id = snapshot_id

    def __reduce__(self):
        return self.__class__, (str(self), self.snapshot_id)
