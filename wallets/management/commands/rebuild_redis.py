from __future__ import annotations

import json

import redis
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from exchange.cache_rebuild import rebuild_all


class Command(BaseCommand):
    help = "Rewrite every Redis key of the seed's schema from the database (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count, write nothing")
        parser.add_argument("--json", action="store_true", help="print the counts as JSON")

    def handle(self, *args: str, dry_run: bool, **options: object) -> None:
        from exchange.redis import get_redis
        from operations.recovery import REDIS_SENTINEL

        try:
            counts = rebuild_all(dry_run=dry_run)
            if not dry_run:
                get_redis().set(REDIS_SENTINEL, timezone.now().isoformat())
        except redis.RedisError as exc:
            raise CommandError(f"Redis is unreachable: {exc}") from exc
        if options["json"]:
            self.stdout.write(json.dumps({"dry_run": dry_run, **counts}, sort_keys=True))
            return
        verb = "would write" if dry_run else "wrote"
        self.stdout.write(
            f"{verb} {counts['keys']} keys for {counts['accounts']} accounts and "
            f"{counts['histories']} ownership histories ({counts['transfers']} transfers)"
        )
