from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations.backups import BackupError, backup_restore
from operations.management.commands.reconcile import Command as Reconcile
from operations.management.passphrase import passphrase_read
from wallets.chains.base import RestoreRefused
from wallets.clients.base import NodeError


class Command(BaseCommand):
    help = (
        "Restore a backup on a clean machine (empty database, no master wallets yet): the "
        "database, both master wallets from their seeds with every account, a rescan from "
        "the restore heights, then reconcile. Exits 2 when reconcile finds anything."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="source", required=True, type=Path)
        parser.add_argument("--passphrase-file", type=Path, help="a file holding the passphrase")

    def handle(self, *args, source: Path, passphrase_file: Path | None, **options) -> None:
        # This process only restores: its node clients, made from here on, wait as long
        # as a wallet reading the chain again may take to answer.
        settings.NODE_READ_TIMEOUT = max(
            settings.NODE_READ_TIMEOUT, settings.RESTORE_NODE_READ_TIMEOUT
        )
        try:
            reports = backup_restore(
                directory=source,
                passphrase=passphrase_read(passphrase_file),
                echo=self.stdout.write,
            )
        except (BackupError, RestoreRefused) as exc:
            raise CommandError(str(exc)) from exc
        except NodeError as exc:
            raise CommandError(f"node unreachable: {exc}") from exc
        table = Reconcile(stdout=self.stdout, stderr=self.stderr)
        for report in reports:
            table._table(report)
        if any(not r.clean for r in reports):
            sys.exit(2)
