from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations.backups import BackupError, backup_write
from operations.management.passphrase import passphrase_read
from wallets.clients.base import NodeError


class Command(BaseCommand):
    help = (
        "Write a backup into a new directory: the database, the master wallets' seeds and "
        "accounts (encrypted with the passphrase of --passphrase-file or BACKUP_PASSPHRASE) "
        "and a manifest. `restore` brings it back on a clean machine."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--to", required=True, type=Path, help="a new or empty directory")
        parser.add_argument("--passphrase-file", type=Path, help="a file holding the passphrase")
        parser.add_argument("--json", action="store_true", help="print the manifest as JSON")

    def handle(self, *args, to: Path, passphrase_file: Path | None, **options) -> None:
        try:
            manifest = backup_write(directory=to, passphrase=passphrase_read(passphrase_file))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        except NodeError as exc:
            raise CommandError(f"node unreachable: {exc}") from exc
        if options["json"]:
            self.stdout.write(json.dumps(manifest, indent=2))
            return
        self.stdout.write(f"backup written to {to}")
        for wallet in manifest["wallets"]:
            self.stdout.write(
                f"  {wallet['chain']} wallet {wallet['name']}: highest account index "
                f"{wallet['highest_account_index']}, restore height {wallet['restore_height']}"
            )
