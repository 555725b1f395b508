"""The swaps app's periodic task: deleting quotes that made no swap."""

from __future__ import annotations

from celery import shared_task

from exchange.celery import SCHEDULED


@shared_task(name="swaps.quotes_purge", **SCHEDULED)
def quotes_purge_task() -> int:
    """Delete old unused quotes. Safe to run twice."""
    from swaps.quotes import quotes_purge

    return quotes_purge()
