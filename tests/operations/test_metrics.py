from __future__ import annotations

from django.test import Client

SERIES = (
    "exchange_http_request_duration_seconds",
    "exchange_queue_depth",
    "exchange_task_outcomes_total",
    "exchange_node_up",
    "exchange_node_height",
    "exchange_accounts",
    "exchange_reconcile_drift",
    "exchange_webhook_failed_attempts",
    "exchange_node_calls_total",
)


def test_metrics_need_the_token_and_expose_every_series(wallets, celery_worker, settings):
    client = Client()
    client.get("/healthz")
    client.get("/api/rates")

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")

    assert response.status_code == 200
    text = response.content.decode()
    for series in SERIES:
        assert f"# TYPE {series}" in text, series
    assert 'exchange_node_up{chain="bitcoin"} 1.0' in text
    assert 'route="healthz"' in text


def test_the_operations_page_shows_each_section(wallets, staff):
    staff.user.is_superuser = True
    staff.user.save()
    client = Client()
    client.force_login(staff.user)

    page = client.get("/admin/operations/").content.decode()

    for section in (
        "Components",
        "Queues",
        "Account pools",
        "Reconciliation",
        "Stuck",
        "Schedules",
        "Flower",
    ):
        assert section in page
