"""Every Redis cache of the engine, rebuilt from the database in one call."""

from __future__ import annotations


def rebuild_all(*, dry_run: bool = False) -> dict[str, int]:
    from ownership.services import ownership_history_rebuild
    from wallets.cache import rebuild_redis

    counts = rebuild_redis(dry_run=dry_run)
    counts.update(ownership_history_rebuild(dry_run=dry_run))
    return counts
