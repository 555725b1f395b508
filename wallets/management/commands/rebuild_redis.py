from __future__ import annotations

import json

import redis
from django.core.management.base import BaseCommand, CommandError

from wallets.cache import rebuild_redis


class Command(BaseCommand):
    help = "Rewrite every Redis key of the seed's schema from the database (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count, write nothing")
        parser.add_argument("--json", action="store_true", help="print the counts as JSON")

    def handle(self, *args, dry_run: bool, **options):
        try:
            counts = rebuild_redis(dry_run=dry_run)
        except redis.RedisError as exc:
            raise CommandError(f"Redis is unreachable: {exc}") from exc
        if options["json"]:
            self.stdout.write(json.dumps({"dry_run": dry_run, **counts}, sort_keys=True))
            return
        verb = "would write" if dry_run else "wrote"
        self.stdout.write(f"{verb} {counts['keys']} keys for {counts['accounts']} accounts")
