"""Who the client is behind (or without) a reverse proxy, and the production settings."""

from __future__ import annotations

import os
import secrets
import subprocess

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle

from tests.coins import coin_configured
from tests.testenv import ROOT

RATE = 5


def _codes(client: APIClient, forwarded_for: list[str], **extra) -> list[int]:
    return [
        client.get("/api/rates", HTTP_X_FORWARDED_FOR=xff, **extra).status_code
        for xff in forwarded_for
    ]


def _throttled(monkeypatch, ident: str) -> None:
    monkeypatch.setattr(AnonRateThrottle, "rate", f"{RATE}/min", raising=False)
    cache.delete(AnonRateThrottle.cache_format % {"scope": "anon", "ident": ident})


def test_a_rotating_x_forwarded_for_does_not_reset_the_throttle(live_db, monkeypatch):
    """Without trusted proxies the header is ignored: the connection's address is the
    client, whatever the header says."""
    assert api_settings.NUM_PROXIES == 0
    _throttled(monkeypatch, "127.0.0.1")
    codes = _codes(APIClient(), [f"203.0.113.{n}" for n in range(RATE + 3)])
    assert 429 not in codes[:RATE], codes
    assert codes[RATE:] == [429] * 3, codes


def test_behind_one_trusted_proxy_the_client_is_the_address_the_proxy_saw(live_db, monkeypatch):
    """With TRUSTED_PROXIES=1 the proxy appends the address it saw: addresses the client
    put in front of it change nothing."""
    rest = {**api_settings.user_settings, "NUM_PROXIES": 1}
    with override_settings(REST_FRAMEWORK=rest):
        _throttled(monkeypatch, "198.51.100.7")
        spoofed = [f"203.0.113.{n}, 198.51.100.7" for n in range(RATE + 2)]
        codes = _codes(APIClient(), spoofed)
        assert 429 not in codes[:RATE], codes
        assert codes[RATE:] == [429] * 2, codes
        _throttled(monkeypatch, "198.51.100.8")
        assert _codes(APIClient(), ["198.51.100.8"]) != [429]  # another client is not held


def test_the_production_settings_pass_the_deployment_check():
    production = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "DEBUG": "0",
        "HTTPS": "1",
        "TRUSTED_PROXIES": "1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "exchange.example.com",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "REDIS_URL": os.environ["REDIS_URL"],
    }
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "check", "--deploy"]
        + ["--fail-level", "WARNING"],
        cwd=ROOT,
        env=production,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout, done.stdout + done.stderr


def test_anonymous_idempotency_keys_are_scoped_per_client(live_db):
    """Two anonymous callers using the same key: the second is not handed the first's
    answer (nor refused because of it)."""
    from rates.services import rates_refresh

    with transaction.atomic():
        rates_refresh()
    key = secrets.token_hex(16)
    quote = {"from_currency": "BTC", "to_currency": "XMR", "amount_from": "1", "type": "fixed"}

    def post(address: str):
        return APIClient(REMOTE_ADDR=address).post(
            "/api/quotes", quote, format="json", HTTP_IDEMPOTENCY_KEY=key
        )

    first = post("203.0.113.10")
    assert first.status_code < 500, first.content
    assert post("203.0.113.10")["Idempotent-Replayed"] == "true"
    other = post("203.0.113.11")
    assert other.status_code == first.status_code
    assert not other.has_header("Idempotent-Replayed")


def test_the_demo_users_are_never_made_off_regtest(live_db, settings):
    from django.contrib.auth import get_user_model
    from django.core.management import CommandError, call_command

    coin_configured(settings, "BTC", network="mainnet")
    with pytest.raises(CommandError, match="regtest"):
        call_command("bootstrap_demo")
    assert not get_user_model().objects.filter(username="staff").exists()
