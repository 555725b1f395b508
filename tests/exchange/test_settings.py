import subprocess
import sys

from django.db import connection

from tests.processes import launcher
from tests.testenv import ROOT

SETUP = "import django; django.setup()"


def _django_setup(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SETUP],
        cwd=ROOT,
        env=launcher.environ(DJANGO_SETTINGS_MODULE="exchange.settings", **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_secret_key_is_required_when_debug_is_off():
    result = _django_setup(DEBUG="0", SECRET_KEY="")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_on_runs_without_a_secret_key():
    result = _django_setup(DEBUG="1", SECRET_KEY="")

    assert result.returncode == 0, result.stderr


def test_unknown_network_is_refused_by_name():
    result = _django_setup(MONERO_NETWORK="stagenet2")

    assert result.returncode != 0
    assert "MONERO_NETWORK must be regtest, testnet or mainnet" in result.stderr


def test_database_connection_is_read_committed_utf8mb4(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@SESSION.tx_isolation, @@SESSION.character_set_connection")
        isolation, charset = cursor.fetchone()

    assert isolation == "READ-COMMITTED"
    assert charset == "utf8mb4"
