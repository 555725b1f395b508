from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from operations.reconcile import reconcile
from wallets.clients.base import NodeError
from wallets.models import Chain


class Command(BaseCommand):
    help = (
        "Compare the books with the nodes: every transaction the wallets sent against the "
        "payouts, every account's balance against its deposits and payouts, the ledger "
        "against both. Exits 2 when anything is found."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chain", choices=Chain.values, help="one chain (default: both)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--store", action="store_true", help="record the run (admin, metrics)")

    def handle(self, *args, chain: str | None, store: bool, **options):
        chains = [chain] if chain else list(Chain.values)
        as_json = options["json"]

        def progress(done: int, total: int) -> None:
            if not as_json:
                self.stderr.write(f"  … {done}/{total} accounts")

        try:
            reports = reconcile(chains=chains, store=store, progress=progress)
        except NodeError as exc:
            raise CommandError(f"node unreachable: {exc}") from exc
        drift = any(not r.clean for r in reports)
        if as_json:
            self.stdout.write(json.dumps([r.as_dict() for r in reports], indent=2))
        else:
            for report in reports:
                self._table(report)
        if drift:
            sys.exit(2)

    def _table(self, report) -> None:
        self.stdout.write(
            f"{report.chain}: {report.accounts} accounts, node {report.node_total}, "
            f"recorded {report.recorded_total} base units, {report.spends} transactions sent "
            f"({report.payouts_mapped} payouts, {report.bumps_mapped} fee bumps, "
            f"{report.internal_spends} internal), "
            f"{report.node_calls} node calls"
        )
        for finding in report.findings:
            if finding.kind != "account":
                self.stdout.write(
                    f"  {finding.severity.upper()} {finding.kind} {finding.subject}: "
                    f"{finding.detail}"
                )
        if report.clean:
            self.stdout.write("  clean: every transaction and every account matches")
            return
        if not report.differences:
            return
        self.stdout.write(
            f"  {'account':>8} {'index':>6} {'owner':16} {'node':>16} {'recorded':>16} {'ledger':>16}  cause"
        )
        for d in report.differences:
            self.stdout.write(
                f"  {d.account_id:>8} {d.account_index!s:>6} {d.owner:16} {d.node:>16} "
                f"{d.recorded:>16} {d.ledger:>16}  {d.cause}"
            )
