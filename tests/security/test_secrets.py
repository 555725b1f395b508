"""Secrets never leave: not in API responses, not in logs."""

from __future__ import annotations

import json

from django.conf import settings
from django.test import Client

from tests.processes import LOG_DIR
from tests.testenv import TEST_ENV, WEBHOOK_RECEIVER_PORTS

OPERATOR = f"Bearer {TEST_ENV['METRICS_TOKEN']}"


def _secrets() -> dict[str, str]:
    return {
        "SECRET_KEY": settings.SECRET_KEY,
        "BITCOIN_API_KEY": settings.BITCOIN["api_key"],
        "METRICS_TOKEN": settings.METRICS_TOKEN,
        "FLOWER password": settings.FLOWER_BASIC_AUTH.split(":", 1)[1],
    }


def test_api_responses_carry_no_secret(wallets, buyer, vendor, staff):
    webhook = buyer.api.post(
        "/api/webhooks",
        {"url": f"http://127.0.0.1:{WEBHOOK_RECEIVER_PORTS[0]}/hook"},
        format="json",
    ).json()
    order = buyer.api.post(
        "/api/orders",
        {"currency": "BTC", "amount": "5000000", "vendor": vendor.user.username},
        format="json",
    ).json()
    staff_api = staff.api
    bodies = [
        buyer.api.get("/api/orders").content,
        buyer.api.get(f"/api/orders/{order['id']}").content,
        buyer.api.get(f"/api/orders/{order['id']}/history").content,
        buyer.api.get(f"/api/bitcoin/accounts/{order['id']}").content,
        buyer.api.get("/api/webhooks").content,
        buyer.api.get(f"/api/webhooks/{webhook['id']}").content,
        staff_api.get("/api/bitcoin/status").content,
        staff_api.get("/api/monero-account/status").content,
        Client().get("/healthz").content,
        Client(HTTP_AUTHORIZATION=OPERATOR).get("/healthz").content,
        Client().get("/api/schema/").content,
    ]
    secrets = {**_secrets(), "the webhook secret": webhook["secret"]}
    for body in bodies:
        text = body.decode()
        for name, secret in secrets.items():
            assert secret not in text, f"{name} in a response"
    assert "secret" not in json.loads(bodies[4])[0]


def test_logs_carry_no_secret(live_db):
    logs = list(LOG_DIR.glob("*.log"))
    assert logs, "the run's processes wrote logs"
    for path in logs:
        text = path.read_text(errors="replace")
        for name, secret in _secrets().items():
            assert secret not in text, f"{name} in {path.name}"
