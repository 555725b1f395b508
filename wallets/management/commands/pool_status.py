from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from wallets.selectors import pool_status


class Command(BaseCommand):
    help = "Accounts per chain and state, against the pool's low-water mark."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: str, **options: object) -> None:
        status = pool_status()
        if options["json"]:
            self.stdout.write(json.dumps(status, sort_keys=True))
            return
        columns = ("pooled", "creating", "assigned", "retired")
        header = " ".join(f"{c:>9}" for c in columns)
        self.stdout.write(f"{'chain':8} {header}  (low-water mark {settings.POOL_MIN})")
        for chain, row in status.items():
            counts = " ".join(f"{row[c]:>9}" for c in columns)
            flag = "  LOW" if row["pooled"] < settings.POOL_MIN else ""
            self.stdout.write(f"{chain:8} {counts}{flag}")
