from __future__ import annotations

from django.core.management.base import BaseCommand

from operations.warm_up import warm_up


class Command(BaseCommand):
    help = "Refresh the rates and sync each chain's deposits and balances now (as beat does)."

    def handle(self, *args, **options):
        done = warm_up()
        self.stdout.write(f"rates refreshed: {', '.join(done.rates)}")
        for currency, spendable in sorted(done.liquidity.items()):
            self.stdout.write(f"liquidity {currency}: {spendable} base units spendable")
