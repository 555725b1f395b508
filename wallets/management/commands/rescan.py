from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wallets.clients.base import NodeError
from wallets.locks import LockTimeout
from wallets.models import Chain
from wallets.services import deposits_scan


class Command(BaseCommand):
    help = "Scan a chain for deposits from a height (0: the whole chain). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chain", choices=Chain.values, required=True)
        parser.add_argument("--from-height", type=int, default=0)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: str, chain: str, from_height: int, **options: object) -> None:
        if from_height < 0:
            raise CommandError("--from-height: must be 0 or more")
        try:
            result = deposits_scan(chain=chain, from_height=from_height)
        except (NodeError, LockTimeout) as exc:
            raise CommandError(f"{chain}: {exc}") from exc
        row = {
            "chain": chain,
            "from_height": from_height,
            "height": result.height,
            "new": result.new,
            "updated": result.updated,
            "dropped": result.dropped,
            "node_calls": result.node_calls,
        }
        if options["json"]:
            self.stdout.write(json.dumps(row, sort_keys=True))
        else:
            self.stdout.write(" ".join(f"{k}={v}" for k, v in row.items()))
