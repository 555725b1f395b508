import os
import signal
import time

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from devtools.processes import wait_until
from devtools.regtest import regtest_up
from devtools.regtest_nodes import processes, running_pid
from exchange.tasks import heartbeat_task
from tests.processes import launcher

COMPONENTS = {
    "database",
    "redis",
    "broker",
    "bitcoin",
    "monero",
    "beat",
    "worker:transactions",
    "worker:scheduled",
    "worker:rates",
    "worker:webhooks",
}


def _proc(name):
    return next(p for p in processes() if p.name == name)


@pytest.fixture
def client():
    """The operator's monitoring: every component's detail, checked afresh."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")


@pytest.fixture
def live_processes(live_db, regtest, celery_worker):
    """A worker on every queue and a beat, each having reported in."""
    call_command("setup_periodic_tasks")
    for queue in settings.CELERY_QUEUES:
        heartbeat_task.apply_async(kwargs={"queue": queue}, queue=queue)
    beat = launcher.start_beat()
    yield
    beat.stop()


def _health(client):
    started = time.monotonic()
    response = client.get("/healthz")
    return response, time.monotonic() - started


def test_healthz_is_200_and_lists_every_component(client, live_processes):
    response = wait_until(
        lambda: (r := client.get("/healthz")).status_code == 200 and r,
        timeout=30,
        what="a healthy stack",
    )
    body = response.json()

    assert body["status"] == "ok"
    assert set(body["components"]) == COMPONENTS
    assert body["components"]["bitcoin"]["height"] >= 101
    assert body["components"]["monero"]["height"] >= 75


def test_a_killed_bitcoin_node_is_named_within_two_seconds_and_up_heals_it(client, live_processes):
    wait_until(lambda: client.get("/healthz").status_code == 200, timeout=30, what="healthy")
    pid = running_pid(_proc("bcoin"))
    os.killpg(pid, signal.SIGKILL)

    response, elapsed = _health(client)

    assert response.status_code == 503
    assert "bitcoin" in response.json()["failing"]
    assert elapsed < 2.0

    wait_until(lambda: running_pid(_proc("bcoin")) is None, timeout=10, what="bcoin to be gone")
    regtest_up(echo=lambda *_: None)
    wait_until(lambda: client.get("/healthz").status_code == 200, timeout=30, what="healed")


def test_a_hung_node_cannot_hold_the_answer_past_two_seconds(client, live_processes):
    wait_until(lambda: client.get("/healthz").status_code == 200, timeout=30, what="healthy")
    pid = running_pid(_proc("monerod"))
    os.kill(pid, signal.SIGSTOP)
    try:
        response, elapsed = _health(client)
    finally:
        os.kill(pid, signal.SIGCONT)

    assert response.status_code == 503
    assert response.json()["failing"] == ["monero"]
    assert elapsed < 2.0


def test_anonymous_callers_get_the_status_alone_from_a_recent_report(live_processes):
    anonymous = Client()
    wait_until(lambda: anonymous.get("/healthz").status_code == 200, timeout=30, what="healthy")
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    pid = running_pid(_proc("bcoin"))
    os.killpg(pid, signal.SIGKILL)
    try:
        # At most HEALTH_PUBLIC_CACHE_SECONDS later, anonymous callers see it too.
        response = wait_until(
            lambda: (r := anonymous.get("/healthz")).status_code == 503 and r,
            timeout=settings.HEALTH_PUBLIC_CACHE_SECONDS + 5,
            what="the failure in the public status",
        )
        assert response.json() == {"status": "fail"}
    finally:
        wait_until(lambda: running_pid(_proc("bcoin")) is None, timeout=10, what="bcoin gone")
        regtest_up(echo=lambda *_: None)
