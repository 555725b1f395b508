"""A shop's webhook endpoint on loopback, as the Greenfield tests use it: every request
kept with its raw body, and ``BTCPay-Sig`` checked as the PHP client checks it."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.testenv import WEBHOOK_RECEIVER_PORTS

PORT = WEBHOOK_RECEIVER_PORTS[1]
URL = f"http://127.0.0.1:{PORT}/btcpay"


def php_check(body: bytes, secret: str, header: str) -> bool:
    """btcpayserver-greenfield-php: ``hash_equals('sha256=' . hash_hmac('sha256', $body,
    $secret), $header)``, over the raw body bytes."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())


class Receiver:
    """A shop's webhook endpoint: keeps every request (raw body) as it arrives, answers
    500 to the event types in ``failing``, 200 to the others, and takes ``slow[type]``
    seconds to answer that type. ``times[deliveryId]`` is (arrived, answered)."""

    def __init__(self, failing: tuple[str, ...] = (), slow: dict[str, float] | None = None):
        self.failing = failing
        self.slow = slow or {}
        self.received: list[tuple[dict, bytes]] = []
        self.times: dict[str, tuple[float, float]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                arrived = time.monotonic()
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                event = json.loads(body)
                time.sleep(receiver.slow.get(event["type"], 0))
                status = 500 if event["type"] in receiver.failing else 200
                self.send_response(status)
                self.end_headers()
                receiver.times[event["deliveryId"]] = (arrived, time.monotonic())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
