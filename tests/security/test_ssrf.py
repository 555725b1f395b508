"""Webhooks cannot make the server reach inside: every internal destination is refused at
registration and again at delivery, redirects are not followed, answers are read only up
to the excerpt, and one user's endpoints are capped. Against the real regtest nodes: the
first targets are their RPC ports."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.utils import timezone

from tests.testenv import TEST_ENV, WEBHOOK_RECEIVER_PORTS
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.outbound import address_is_public
from webhooks.services import delivery_attempt

pytestmark = pytest.mark.django_db(transaction=True)

ALLOWED, STREAMING = WEBHOOK_RECEIVER_PORTS[0], WEBHOOK_RECEIVER_PORTS[1]
NOT_ALLOWED = WEBHOOK_RECEIVER_PORTS[-1] + 1


def _internal_targets() -> list[str]:
    def url(name: str, path: str) -> str:
        return TEST_ENV[name] + path

    return [
        url("MONERO_DAEMON_URL", "/stop_daemon"),
        url("MONERO_DAEMON_RESTRICTED_URL", "/get_info"),
        url("MONERO_WALLET_URL", "/json_rpc"),
        url("MONERO_CUSTOMER_WALLET_URL", "/json_rpc"),
        url("BITCOIN_NODE_URL", "/"),
        url("BITCOIN_WALLET_URL", "/wallet/primary"),
        f"http://localhost:{TEST_ENV['WEB_PORT']}/admin/",
        f"http://127.0.0.1:{NOT_ALLOWED}/hook",  # loopback, a port the operator did not allow
        "http://localhost./",
        "http://[::1]/",
        "http://[::]/",
        "http://0.0.0.0/",
        "http://0/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/",  # 127.0.0.1 in decimal
        "http://0x7f000001/",  # hex
        "http://0177.0.0.1/",  # octal
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
        "http://[::ffff:7f00:1]/",
        "http://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1
        "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",  # shared address space
        "http://224.0.0.1/",  # multicast
        "http://240.0.0.1/",  # reserved
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[ff02::1]/",
    ]


def test_internal_destinations_are_refused_at_registration(buyer):
    targets = _internal_targets()
    assert len(targets) >= 15
    accepted = []
    for target in targets:
        answer = buyer.api.post("/api/webhooks", {"url": target}, format="json")
        if answer.status_code != 400 or "url" not in answer.json():
            accepted.append((target, answer.status_code, answer.json()))
    assert accepted == []
    assert WebhookEndpoint.objects.count() == 0


def test_public_addresses_are_public():
    for address in ("93.184.215.14", "2606:4700::1111", "8.8.8.8", "::ffff:8.8.8.8"):
        assert address_is_public(address), address


class _Server:
    """A receiver on loopback that counts what reaches it."""

    def __init__(self, port: int, handler):
        server = self
        self.hits = 0
        self.bytes_sent = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's name
                server.hits += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                handler(self, server)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _answer(status: int, headers: dict | None = None):
    def handle(request, _server):
        request.send_response(status)
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.send_header("Content-Length", "2")
        request.end_headers()
        request.wfile.write(b"ok")

    return handle


def _stream_forever(request, server):
    """Answers 200 and sends 64 KiB chunks until the client goes away."""
    request.send_response(200)
    request.send_header("Content-Type", "application/octet-stream")
    request.end_headers()
    chunk = b"x" * 65536
    try:
        while server.bytes_sent < 2 * 1024**3:
            request.wfile.write(chunk)
            server.bytes_sent += len(chunk)
    except OSError:
        pass


def _delivery_to(owner, url: str, endpoint_id: int | None = None) -> WebhookDelivery:
    """A delivery of one event to an endpoint, or to one stored as it was when it was
    registered (its name may have resolved elsewhere then)."""
    endpoint = (
        WebhookEndpoint.objects.get(id=endpoint_id)
        if endpoint_id
        else WebhookEndpoint.objects.create(owner=owner, url=url, secret="s" * 64)
    )
    event = WebhookEvent.objects.create(type="order.state_changed", data={}, parties=[owner.id])
    return WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, next_attempt_at=timezone.now()
    )


def test_a_host_that_resolves_inside_at_delivery_is_refused_and_nothing_is_sent(buyer):
    server = _Server(NOT_ALLOWED, _answer(200))
    try:
        delivery = _delivery_to(buyer.user, f"http://localhost:{NOT_ALLOWED}/hook")
        delivery_attempt(delivery_id=delivery.id)
        attempt = WebhookAttempt.objects.get(delivery=delivery)
        assert attempt.status_code is None
        assert "internal address" in attempt.error
        assert server.hits == 0
    finally:
        server.close()


def test_a_redirect_to_an_internal_address_is_not_followed(buyer):
    inside = _Server(NOT_ALLOWED, _answer(200))
    redirecting = _Server(
        ALLOWED, _answer(302, {"Location": f"http://127.0.0.1:{NOT_ALLOWED}/stop_daemon"})
    )
    try:
        answer = buyer.api.post(
            "/api/webhooks", {"url": f"http://127.0.0.1:{ALLOWED}/hook"}, format="json"
        )
        assert answer.status_code == 201, answer.json()
        delivery = _delivery_to(buyer.user, "", answer.json()["id"])
        delivery_attempt(delivery_id=delivery.id)
        attempt = WebhookAttempt.objects.get(delivery=delivery)
        assert attempt.status_code == 302
        assert redirecting.hits == 1
        assert inside.hits == 0
        delivery.refresh_from_db()
        assert delivery.delivered_at is None
    finally:
        inside.close()
        redirecting.close()


def test_a_receiver_streaming_gigabytes_is_cut_off_at_the_excerpt(buyer):
    server = _Server(STREAMING, _stream_forever)
    try:
        delivery = _delivery_to(buyer.user, f"http://127.0.0.1:{STREAMING}/hook")
        started = time.monotonic()
        delivery_attempt(delivery_id=delivery.id)
        elapsed = time.monotonic() - started
        attempt = WebhookAttempt.objects.get(delivery=delivery)
        assert attempt.status_code == 200
        assert 0 < len(attempt.response_excerpt) <= settings.WEBHOOK_EXCERPT_BYTES
        # The connection was closed after the excerpt: what the receiver managed to write
        # is what the sockets' buffers held, megabytes, not the gigabytes it had to send.
        deadline = time.monotonic() + 30
        while server.bytes_sent < 2 * 1024**3 and time.monotonic() < deadline:
            before = server.bytes_sent
            time.sleep(0.5)
            if server.bytes_sent == before:
                break
        assert server.bytes_sent < 64 * 1024**2, server.bytes_sent
        assert elapsed < settings.WEBHOOK_READ_TIMEOUT + 30
    finally:
        server.close()


def test_one_user_has_at_most_the_set_number_of_endpoints(buyer, stranger):
    url = f"http://127.0.0.1:{ALLOWED}/hook"
    for _ in range(settings.WEBHOOK_MAX_ENDPOINTS_PER_USER):
        assert buyer.api.post("/api/webhooks", {"url": url}, format="json").status_code == 201
    over = buyer.api.post("/api/webhooks", {"url": url}, format="json")
    assert over.status_code == 409, over.json()
    assert WebhookEndpoint.objects.filter(owner=buyer.user).count() == (
        settings.WEBHOOK_MAX_ENDPOINTS_PER_USER
    )
    assert stranger.api.post("/api/webhooks", {"url": url}, format="json").status_code == 201


def test_deliveries_run_on_their_own_queue():
    from webhooks.tasks import webhook_deliver_task

    assert webhook_deliver_task.queue == "webhooks"
    procfile = (settings.BASE_DIR / "Procfile").read_text()
    webhooks_line = next(line for line in procfile.splitlines() if line.startswith("webhooks:"))
    assert "-Q webhooks" in webhooks_line
    worker_line = next(line for line in procfile.splitlines() if line.startswith("worker:"))
    assert "webhooks" not in worker_line.split("-Q", 1)[1].split()[0]
