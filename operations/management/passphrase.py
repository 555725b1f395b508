"""The backup passphrase: from a file the operator names, else ``BACKUP_PASSPHRASE``."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import CommandError


def passphrase_read(path: Path | None) -> str:
    if path is not None:
        try:
            return path.read_text().rstrip("\n")
        except OSError as exc:
            raise CommandError(f"--passphrase-file: {exc.strerror}: {path}") from exc
    passphrase = os.environ.get("BACKUP_PASSPHRASE", "")
    if not passphrase:
        raise CommandError("passphrase: give --passphrase-file or set BACKUP_PASSPHRASE")
    return passphrase
