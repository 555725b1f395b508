from __future__ import annotations

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError

from operations.recovery import recovery_sweep, stuck_items


class Command(BaseCommand):
    help = "Orders, swaps and payouts in an intermediate state for too long: why, and what next."

    def add_arguments(self, parser):
        parser.add_argument("--minutes", type=int, default=30, help="older than this (default 30)")
        parser.add_argument("--json", action="store_true")
        parser.add_argument(
            "--sweep",
            action="store_true",
            help="also enqueue the next step of each (the recovery sweep)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="with --sweep: list, enqueue nothing"
        )

    def handle(self, *args, minutes: int, sweep: bool, dry_run: bool, **options):
        if minutes < 0:
            raise CommandError("--minutes: must be 0 or more")
        items = stuck_items(older_than_minutes=minutes)
        swept = recovery_sweep() if sweep and not dry_run else None
        if options["json"]:
            self.stdout.write(
                json.dumps({"stuck": [asdict(i) for i in items], "swept": swept}, indent=2)
            )
            return
        if not items:
            self.stdout.write(f"nothing stuck for more than {minutes} minutes")
        for i in items:
            self.stdout.write(
                f"{i.kind:6} {i.id:>8} {i.state:18} {i.minutes:>5} min  {i.reason}\n{'':35}→ {i.next_action}"
            )
        if swept is not None:
            self.stdout.write(f"recovery sweep enqueued: {swept}")
