"""Backups and restores: what a new machine needs to carry on where this one stopped.

A backup is a directory: ``database.sql.enc`` (a consistent dump of the database),
``wallets.json.enc`` (each master wallet's secrets, its accounts and the height to read the
chain from, as its adapter gives them), both encrypted with a key derived from the
operator's passphrase, and ``manifest.json`` (plain, no secret), written last: a directory
without a manifest is not a backup. The database is dumped before the wallets are read, so
the wallets know every account the database names.

A restore, on a clean machine with empty wallets and an empty database: check the files
against the manifest and the passphrase against the wallets' file before anything is
written, load the database, drop the accounts that were pooled (they may have been handed
out after the backup), restore each master wallet under this machine's configured name
(its accounts at their indices, ``RESTORE_ACCOUNT_GAP`` more past the last that are never
handed out, the chain read again from the restore height), write
the accounts' tags again where the coin tags them, rebuild Redis from the database, scan
every chain for what happened since the backup, sync balances, and reconcile.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import nacl.exceptions
import nacl.pwhash
import nacl.utils
from django.conf import settings
from django.db import connections, transaction
from django.db.models import Max
from django.utils import timezone
from nacl import bindings

from operations.books import ChainBooks
from operations.payouts_after_backup import node_height, payouts_sent_after
from operations.reconcile import reconcile
from wallets.chains import adapter
from wallets.models import AccountState, Chain, MasterWallet, WalletAccount

BACKUP_FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_FILE = "database.sql.enc"
WALLETS_FILE = "wallets.json.enc"
MAGIC = b"XBAK1\n"
CHUNK = 64 * 1024
PASSPHRASE_MIN_LENGTH = 12
# Reconcile runs after a restore until clean, at most this many times.
RECONCILE_PASSES = 10
# argon2id at libsodium's "moderate" cost: about a second and 256 MiB, once per backup.
KDF_OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
KDF_MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_MODERATE


class BackupError(Exception):
    """A backup or restore that cannot go on; the message names what to fix."""


# --- encryption: XChaCha20-Poly1305 secret streams, one key per backup ----------------


def _key(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return nacl.pwhash.argon2id.kdf(
        bindings.crypto_secretstream_xchacha20poly1305_KEYBYTES,
        passphrase.encode(),
        salt,
        opslimit=opslimit,
        memlimit=memlimit,
    )


def seal(chunks: Iterator[bytes], out: IO[bytes], key: bytes) -> None:
    """Encrypt ``chunks`` to ``out``: each chunk authenticated, the last one marked final
    (a truncated file is refused on opening)."""
    state = bindings.crypto_secretstream_xchacha20poly1305_state()
    header = bindings.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    out.write(MAGIC + header)
    pending = b""
    for chunk in chunks:
        pending += chunk
        while len(pending) > CHUNK:
            _push(out, state, pending[:CHUNK], final=False)
            pending = pending[CHUNK:]
    _push(out, state, pending, final=True)


def _push(out: IO[bytes], state: Any, plain: bytes, *, final: bool) -> None:
    tag = (
        bindings.crypto_secretstream_xchacha20poly1305_TAG_FINAL
        if final
        else bindings.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
    )
    sealed = bindings.crypto_secretstream_xchacha20poly1305_push(state, plain, tag=tag)
    out.write(len(sealed).to_bytes(4, "big") + sealed)


def unseal(source: IO[bytes], key: bytes) -> Iterator[bytes]:
    """The plain chunks of a sealed file; ``BackupError`` on a wrong key, a changed byte or
    a file cut short."""
    if source.read(len(MAGIC)) != MAGIC:
        raise BackupError("not a file of this engine's backups")
    header = source.read(bindings.crypto_secretstream_xchacha20poly1305_HEADERBYTES)
    state = bindings.crypto_secretstream_xchacha20poly1305_state()
    try:
        bindings.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
    except (nacl.exceptions.CryptoError, ValueError) as exc:
        raise BackupError("the backup file is damaged (its header)") from exc
    while True:
        size = source.read(4)
        if len(size) < 4:
            raise BackupError("the backup file is cut short")
        sealed = source.read(int.from_bytes(size, "big"))
        try:
            plain, tag = bindings.crypto_secretstream_xchacha20poly1305_pull(state, sealed)
        except (nacl.exceptions.CryptoError, ValueError) as exc:
            raise BackupError("wrong passphrase, or the backup file was changed") from exc
        yield plain
        if tag == bindings.crypto_secretstream_xchacha20poly1305_TAG_FINAL:
            return


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


# --- the database, through MariaDB's own client tools ----------------------------------


def _db() -> dict[str, Any]:
    return settings.DATABASES["default"]


def _client_argv(program: str) -> tuple[list[str], dict[str, str]]:
    db = _db()
    if shutil.which(program) is None:
        raise BackupError(f"{program} is not installed (run `make setup`)")
    argv = [program, f"--host={db.get('HOST') or '127.0.0.1'}", f"--user={db.get('USER')}"]
    if db.get("PORT"):
        argv.append(f"--port={db['PORT']}")
    env = {**os.environ, "MYSQL_PWD": db.get("PASSWORD") or ""}
    return argv, env


def _dump_chunks() -> Iterator[bytes]:
    """A consistent snapshot without a table lock (one InnoDB transaction)."""
    argv, env = _client_argv("mariadb-dump")
    argv += [
        "--single-transaction",
        "--skip-lock-tables",
        "--quick",
        "--hex-blob",
        "--routines",
        "--triggers",
        "--no-tablespaces",
        "--default-character-set=utf8mb4",
        _db()["NAME"],
    ]
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None
    yield from iter(lambda: proc.stdout.read(CHUNK), b"")
    _, error = proc.communicate()
    if proc.returncode:
        raise BackupError(f"mariadb-dump failed: {error.decode(errors='replace').strip()}")


def _sql(statement: str, *, database: str = "") -> str:
    argv, env = _client_argv("mariadb")
    argv += ["--batch", "--skip-column-names", "-e", statement, *([database] if database else [])]
    done = subprocess.run(argv, capture_output=True, env=env, check=False)  # noqa: S603
    if done.returncode:
        raise BackupError(f"mariadb: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode().strip()


def _database_load(chunks: Iterator[bytes]) -> None:
    name = _db()["NAME"]
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise BackupError(f"database name {name!r}: letters, digits and _ only")
    _sql(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    schema_of = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
    tables = _sql(f"{schema_of}'{name}'")
    if int(tables or 0):
        raise BackupError(f"database {name} is not empty: restore onto an empty database")
    argv, env = _client_argv("mariadb")
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [*argv, "--default-character-set=utf8mb4", name],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None
    try:
        for chunk in chunks:
            proc.stdin.write(chunk)
    finally:
        proc.stdin.close()
        proc.wait()
    if proc.returncode:
        assert proc.stderr is not None
        raise BackupError(f"loading the database failed: {proc.stderr.read().decode().strip()}")


# --- backup -------------------------------------------------------------------------


def backup_write(*, directory: Path, passphrase: str) -> dict[str, Any]:
    """Write a backup into ``directory`` (new or empty); returns its manifest."""
    if len(passphrase) < PASSPHRASE_MIN_LENGTH:
        raise BackupError(f"passphrase: at least {PASSPHRASE_MIN_LENGTH} characters")
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{directory} is not empty: back up into a new directory")
    directory.mkdir(parents=True, exist_ok=True)
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    key = _key(passphrase, salt, KDF_OPSLIMIT, KDF_MEMLIMIT)
    started = timezone.now()
    # Read before the dump: a transaction in a block up to here was relayed before it
    # began, so the dump records its payout as at least signed.
    heights = {chain: node_height(chain) for chain in Chain.values}
    with (directory / DATABASE_FILE).open("wb") as out:
        seal(_dump_chunks(), out, key)
    wallets = []
    secrets = []
    for wallet in MasterWallet.objects.order_by("id"):
        saved = adapter(wallet.chain).wallet_backup(wallet)
        recorded = WalletAccount.objects.filter(master_wallet=wallet).aggregate(
            highest=Max("account_index")
        )["highest"]
        wallets.append(
            {
                "chain": wallet.chain,
                "name": wallet.name,
                "network": wallet.network,
                "endpoint": wallet.endpoint,
                "highest_account_index": recorded,
                "restore_height": saved["restore_height"],
                "height_at_backup": heights[wallet.chain],
            }
        )
        secrets.append({"chain": wallet.chain, "name": wallet.name, "saved": saved})
    with (directory / WALLETS_FILE).open("wb") as out:
        seal(iter([json.dumps(secrets).encode()]), out, key)
    manifest = {
        "format": BACKUP_FORMAT,
        "started_at": started.isoformat(),
        "finished_at": timezone.now().isoformat(),
        "database": _db()["NAME"],
        "kdf": {
            "name": "argon2id",
            "salt": salt.hex(),
            "opslimit": KDF_OPSLIMIT,
            "memlimit": KDF_MEMLIMIT,
        },
        "files": {name: _sha256(directory / name) for name in (DATABASE_FILE, WALLETS_FILE)},
        "wallets": wallets,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


# --- restore ------------------------------------------------------------------------


def manifest_read(directory: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise BackupError(f"{directory} holds no {MANIFEST}: not a finished backup") from exc
    except ValueError as exc:
        raise BackupError(f"{directory / MANIFEST} is not JSON") from exc
    if manifest.get("format") != BACKUP_FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r} is not {BACKUP_FORMAT}")
    for name, digest in manifest["files"].items():
        path = directory / name
        if not path.exists():
            raise BackupError(f"{path} is missing")
        if _sha256(path) != digest:
            raise BackupError(f"{path} does not match the manifest (changed or damaged)")
    return manifest


def backup_restore(
    *, directory: Path, passphrase: str, echo: Callable[[str], None] = print
) -> list[ChainBooks]:
    """Restore the backup in ``directory`` on this machine; returns the reconcile reports."""
    manifest = manifest_read(directory)
    kdf = manifest["kdf"]
    key = _key(passphrase, bytes.fromhex(kdf["salt"]), kdf["opslimit"], kdf["memlimit"])
    with (directory / WALLETS_FILE).open("rb") as f:
        secrets = {
            (s["chain"], s["name"]): s["saved"] for s in json.loads(b"".join(unseal(f, key)))
        }
    for saved in manifest["wallets"]:
        configured = adapter(saved["chain"]).coin.network
        if saved["network"] != configured:
            raise BackupError(
                f"the {saved['chain']} wallet {saved['name']} is on {saved['network']}, this"
                f" machine on {configured}: set the *_NETWORK variables as on the old machine"
            )
    echo(f"loading database {_db()['NAME']}")
    connections.close_all()
    with (directory / DATABASE_FILE).open("rb") as f:
        _database_load(unseal(f, key))
    for saved in manifest["wallets"]:
        wallet = _wallet_renamed(saved)
        echo(f"restoring the {wallet.chain} wallet {saved['name']} as {wallet.name}")
        dropped = _pool_dropped(wallet)
        adapter(wallet.chain).wallet_restore(
            wallet, secrets[(saved["chain"], saved["name"])], gap=settings.RESTORE_ACCOUNT_GAP
        )
        echo(
            f"  {dropped} pooled accounts dropped, {settings.RESTORE_ACCOUNT_GAP} accounts"
            " made past the last and never handed out"
        )
        _accounts_labelled(wallet)
        payouts_sent_after(wallet, saved.get("height_at_backup"), echo)
    return _catch_up(echo)


def _wallet_renamed(saved: dict[str, Any]) -> MasterWallet:
    """The master wallet row, named as this machine's settings name its chain's first
    wallet (a second master wallet keeps its name)."""
    wallet = MasterWallet.objects.get(chain=saved["chain"], name=saved["name"])
    defaults = adapter(wallet.chain).wallet_defaults()
    if wallet.endpoint == defaults["endpoint"] and wallet.name != defaults["name"]:
        with transaction.atomic():
            MasterWallet.objects.filter(id=wallet.id).update(name=defaults["name"])
        wallet.refresh_from_db()
    return wallet


def _pool_dropped(wallet: MasterWallet) -> int:
    """Accounts pooled (or being made) at the backup may have been handed out since, to
    orders the backup does not hold: none is handed out again. Their rows go; the node
    keeps the accounts, and what they receive shows in reconcile as an account the engine
    does not know."""
    with transaction.atomic():
        dropped, _ = WalletAccount.objects.filter(
            master_wallet=wallet,
            state__in=[AccountState.POOLED, AccountState.CREATING],
            owner_id__isnull=True,
        ).delete()
    return dropped


def _accounts_labelled(wallet: MasterWallet) -> None:
    chain = adapter(wallet.chain)
    if not chain.labels_accounts:
        return
    for account in WalletAccount.objects.filter(
        master_wallet=wallet, owner_id__isnull=False
    ).select_related("master_wallet"):
        chain.account_label(account)
    chain.accounts_saved(wallet)


def _catch_up(echo: Callable[[str], None]) -> list[ChainBooks]:
    """Redis from the database, then every chain scanned and every relayed payout the new
    node may not hold relayed again (its stored bytes), balances synced, and reconcile,
    again while it finds something a scan settles (a payout the wallet indexes between two
    reads); the last run is stored."""
    from exchange.cache_rebuild import rebuild_all
    from exchange.redis import get_redis
    from operations.recovery import REDIS_SENTINEL
    from wallets.services import balances_sync, deposits_scan
    from wallets.services.payouts import payouts_follow_relayed

    counts = rebuild_all(dry_run=False)
    get_redis().set(REDIS_SENTINEL, timezone.now().isoformat())
    echo(f"rebuilt {counts['keys']} Redis keys from the database")
    for chain in Chain.values:
        result = deposits_scan(chain=chain)
        followed = payouts_follow_relayed(chain=chain)
        echo(
            f"scanned {chain} to height {result.height}: {result.new} new deposits,"
            f" {len(followed)} relayed payouts followed"
        )
    for _ in range(RECONCILE_PASSES):
        for chain in Chain.values:
            deposits_scan(chain=chain)
            balances_sync(chain=chain)
        if all(report.clean for report in reconcile(chains=list(Chain.values))):
            break
        time.sleep(2)
    return reconcile(chains=list(Chain.values), store=True)
