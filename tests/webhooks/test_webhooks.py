"""Webhooks to a real receiver on loopback, through the real worker."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from devtools.processes import wait_until
from orders.services import order_cancel
from tests.flows import create
from tests.people import make_person
from tests.testenv import WEBHOOK_RECEIVER_PORTS
from webhooks.models import DeliveryState, WebhookDelivery
from webhooks.signing import HEADER, verify

ALLOWED_URL = f"http://127.0.0.1:{WEBHOOK_RECEIVER_PORTS[0]}/x"


class Receiver:
    """An integrator's endpoint: answers with the next scripted status, keeps what it got."""

    def __init__(self, statuses: list[int]):
        self.statuses = list(statuses)
        self.received: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"try later")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", WEBHOOK_RECEIVER_PORTS[0]), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_failing_twice():
    receiver = Receiver([500, 503, 200])
    yield receiver
    receiver.close()


def test_signed_events_are_retried_until_delivered_logged_and_redeliverable(
    buyer, vendor, staff, celery_worker, receiver_failing_twice
):
    answer = buyer.api.post(
        "/api/webhooks",
        {"url": receiver_failing_twice.url, "events": ["order.state_changed"]},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    secret = answer.json()["secret"]
    assert "secret" not in buyer.api.get("/api/webhooks").json()[0]

    order = create(buyer, vendor, "BTC")
    order_cancel(order_id=order["id"], actor=staff.user, reason="test")

    delivery = wait_until(
        lambda: WebhookDelivery.objects.filter(
            endpoint_id=answer.json()["id"], state=DeliveryState.DELIVERED
        ).first(),
        timeout=30,
        what="the delivery after two failures",
    )
    assert delivery.attempts == 3
    assert [a.status_code for a in delivery.log.order_by("number")] == [500, 503, 200]
    assert len(receiver_failing_twice.received) == 3
    ids = set()
    for headers, body in receiver_failing_twice.received:
        assert verify(secret=secret, body=body, header=headers[HEADER])
        assert not verify(secret="not-the-secret", body=body, header=headers[HEADER])
        event = json.loads(body)
        assert event["type"] == "order.state_changed"
        assert event["data"] == {
            "order": order["id"],
            "from": "awaiting_deposit",
            "to": "cancelled",
            "event": event["data"]["event"],
        }
        ids.add(headers["X-Exchange-Event-Id"])
    assert len(ids) == 1  # one event, the same id on every attempt

    staff.user.is_superuser = True
    staff.user.save()
    admin = Client()
    admin.force_login(staff.user)
    admin.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [delivery.id]},
    )
    wait_until(lambda: len(receiver_failing_twice.received) == 4, timeout=30, what="the redelivery")
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
    assert delivery.log.count() == 4


def test_endpoints_are_validated_and_private_to_their_owner(buyer, stranger):
    bad = buyer.api.post("/api/webhooks", {"url": "ftp://example.test/x"}, format="json")
    assert bad.status_code == 400
    assert "url" in bad.json()
    unknown = buyer.api.post(
        "/api/webhooks", {"url": ALLOWED_URL, "events": ["nope"]}, format="json"
    )
    assert unknown.status_code == 400
    assert "events" in unknown.json()

    mine = buyer.api.post("/api/webhooks", {"url": ALLOWED_URL}, format="json").json()
    assert stranger.api.get(f"/api/webhooks/{mine['id']}").status_code == 404
    assert stranger.api.delete(f"/api/webhooks/{mine['id']}").status_code == 404
    assert buyer.api.delete(f"/api/webhooks/{mine['id']}").status_code == 204
    assert make_person().api.get("/api/webhooks").json() == []
