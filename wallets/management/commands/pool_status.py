from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from wallets.selectors import pool_status
from wallets.services.pool_target import pool_plan


class Command(BaseCommand):
    help = (
        "Accounts per chain and state, against the pool's target (which follows demand "
        "between POOL_MIN and POOL_MAX), and the rate the refill makes them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: str, **options: object) -> None:
        status = pool_status()
        plans = {chain: pool_plan(chain=chain) for chain in status}
        if options["json"]:
            out = {chain: {**row, **plans[chain]} for chain, row in status.items()}
            self.stdout.write(json.dumps(out, sort_keys=True))
            return
        columns = ("pooled", "creating", "assigned", "retired")
        header = " ".join(f"{c:>9}" for c in columns)
        self.stdout.write(
            f"{'chain':8} {header} {'target':>7} {'peak':>6} {'refill/min':>11}"
            f"  (peak: most accounts handed out in {settings.POOL_DEMAND_WINDOW_MINUTES}"
            f" minutes of the last {settings.POOL_DEMAND_LOOKBACK_HOURS} h; target: peak"
            f" x {settings.POOL_DEMAND_FACTOR}, between floor and ceiling)"
        )
        for chain, row in status.items():
            plan = plans[chain]
            counts = " ".join(f"{row[c]:>9}" for c in columns)
            rate = plan["refill_per_minute"]
            flag = "  LOW" if row["pooled"] < plan["target"] else ""  # type: ignore[operator]
            self.stdout.write(
                f"{chain:8} {counts} {plan['target']:>7} {plan['demand_peak']:>6}"
                f" {rate if rate is not None else '-':>11}{flag}"
            )
        first = next(iter(plans.values()))
        self.stdout.write(
            f"floor POOL_MIN {first['floor']}, ceiling POOL_MAX {first['ceiling']}; refill/min:"
            " POOL_REFILL_PER_MINUTE_<coin>, or the node's measured pace if slower"
        )
