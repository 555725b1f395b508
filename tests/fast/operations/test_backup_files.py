"""The sealed files of a backup (operations/backups.py): what goes in comes out with the
right key only, and a changed, cut or foreign file is refused rather than read."""

from __future__ import annotations

import io
import json

import nacl.pwhash
import pytest

from operations import backups
from operations.backups import BackupError, manifest_read, seal, unseal

SALT = bytes(range(16))
PASSPHRASE = "a long passphrase"


def key(passphrase: str) -> bytes:
    # The lowest cost argon2id allows: the format is the same at any cost.
    return backups._key(
        passphrase,
        SALT,
        nacl.pwhash.argon2id.OPSLIMIT_MIN,
        nacl.pwhash.argon2id.MEMLIMIT_MIN,
    )


def sealed(chunks: list[bytes], passphrase: str = PASSPHRASE) -> bytes:
    out = io.BytesIO()
    seal(iter(chunks), out, key(passphrase))
    return out.getvalue()


def opened(data: bytes, passphrase: str = PASSPHRASE) -> bytes:
    return b"".join(unseal(io.BytesIO(data), key(passphrase)))


@pytest.mark.parametrize("size", [0, 1, backups.CHUNK, backups.CHUNK + 1, 3 * backups.CHUNK + 7])
def test_what_is_sealed_opens_unchanged_whatever_its_size(size):
    plain = bytes(i % 251 for i in range(size))
    # Fed in uneven pieces, as a dump's pipe gives them.
    pieces = [plain[i : i + 1000] for i in range(0, size, 1000)] or [b""]
    data = sealed(pieces)
    assert size < 64 or plain[:64] not in data
    assert opened(data) == plain


def test_another_passphrase_opens_nothing():
    with pytest.raises(BackupError, match="wrong passphrase"):
        opened(sealed([b"secret seed words"]), "another passphrase")


def test_a_changed_byte_is_refused():
    data = bytearray(sealed([b"x" * 5000]))
    data[-10] ^= 1
    with pytest.raises(BackupError, match="changed"):
        opened(bytes(data))


def test_a_file_cut_after_a_whole_chunk_is_refused():
    data = sealed([b"y" * (2 * backups.CHUNK + 5)])
    # Cut just after the first sealed chunk: every byte that remains is authentic.
    first = len(backups.MAGIC) + 24
    first += 4 + int.from_bytes(data[first : first + 4], "big")
    with pytest.raises(BackupError, match="cut short"):
        opened(data[:first])


def test_a_file_that_is_not_a_backup_is_refused():
    with pytest.raises(BackupError, match="not a file"):
        opened(b"-- MariaDB dump 10.19\n")


def test_a_short_passphrase_is_refused_before_anything_is_written(tmp_path):
    target = tmp_path / "backup"
    with pytest.raises(BackupError, match="passphrase: at least 12"):
        backups.backup_write(directory=target, passphrase="short")
    assert not target.exists()


def test_a_backup_is_written_only_into_an_empty_directory(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(BackupError, match="not empty"):
        backups.backup_write(directory=tmp_path, passphrase=PASSPHRASE)
    assert [p.name for p in tmp_path.iterdir()] == ["old.txt"]


def test_a_manifest_names_every_file_and_its_digest(tmp_path):
    with pytest.raises(BackupError, match="not a finished backup"):
        manifest_read(tmp_path)
    (tmp_path / backups.DATABASE_FILE).write_bytes(b"data")
    manifest = {"format": backups.BACKUP_FORMAT, "files": {backups.DATABASE_FILE: "0" * 64}}
    (tmp_path / backups.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="does not match the manifest"):
        manifest_read(tmp_path)
    manifest["files"][backups.DATABASE_FILE] = backups._sha256(tmp_path / backups.DATABASE_FILE)
    manifest["files"][backups.WALLETS_FILE] = "0" * 64
    (tmp_path / backups.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="is missing"):
        manifest_read(tmp_path)
    manifest["format"] = 99
    (tmp_path / backups.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="format 99"):
        manifest_read(tmp_path)
