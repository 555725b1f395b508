"""An HTTP proxy in front of a node's RPC that forwards every request and, when armed,
loses or delays the answer to one kind of request: a node that took a transaction while
its reply never reached the caller.

    python tests/faults/rpc_proxy.py --listen 20086 --target 127.0.0.1:20081

It forwards everything as it is (keep-alive, binary bodies). ``POST /__proxy__/arm`` with
``{"path": "sendrawtransaction", "action": "drop" | "delay", "seconds": 8, "count": 1}``
arms it: the next ``count`` requests whose path contains ``path`` are forwarded, the node's
answer is read, and then the connection is closed without a reply (``drop``) or the answer
is held ``seconds`` before it is sent (``delay``). ``GET /__proxy__/status`` tells what is
armed and what was done. The tests start one in front of monerod for the master wallet's
monero-wallet-rpc (its ``--daemon-address``), so a relay from the engine reaches the daemon
while the wallet is told nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import socket
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTROL = "/__proxy__/"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules: list[dict] = []
        self.done: list[dict] = []

    def take(self, path: str) -> dict | None:
        with self.lock:
            for rule in self.rules:
                if rule["path"] in path and rule["count"] > 0:
                    rule["count"] -= 1
                    return dict(rule)
        return None


def make_handler(target: tuple[str, int], state: State):
    local = threading.local()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The headers and the body leave in two writes: with Nagle's algorithm the body
        # waits for the client's delayed ACK of the headers, 40 ms on every answer.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def _upstream(self) -> http.client.HTTPConnection:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = http.client.HTTPConnection(*target, timeout=600)
                local.conn = conn
            return conn

        def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            for attempt in range(2):
                conn = self._upstream()
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    return response.status, response.getheaders(), data
                except (OSError, http.client.HTTPException):
                    conn.close()
                    local.conn = None
                    if attempt:
                        raise
            raise RuntimeError("unreachable")

        def _control(self, body: bytes) -> None:
            if self.path.endswith("/arm"):
                rule = json.loads(body or b"{}")
                rule.setdefault("count", 1)
                rule.setdefault("seconds", 5)
                with state.lock:
                    state.rules.append(rule)
                answer = {"armed": rule}
            elif self.path.endswith("/reset"):
                with state.lock:
                    state.rules.clear()
                answer = {"reset": True}
            else:
                with state.lock:
                    answer = {"rules": state.rules, "done": state.done}
            payload = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                # monero-wallet-rpc writes a request's headers and body apart, and holds the
                # body back (Nagle) until the headers are acknowledged: acknowledge them now,
                # not after the 40 ms delayed-ACK timer.
                with contextlib.suppress(OSError, AttributeError):
                    self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            body = self.rfile.read(length) if length else b""
            if self.path.startswith(CONTROL):
                self._control(body)
                return
            rule = state.take(self.path)
            try:
                status, headers, data = self._forward(body)
            except (OSError, http.client.HTTPException):
                self.close_connection = True
                return
            if rule is not None:
                with state.lock:
                    state.done.append(
                        {"path": self.path, "action": rule["action"], "at": time.time()}
                    )
                if rule["action"] == "drop":
                    self.close_connection = True
                    return
                time.sleep(float(rule["seconds"]))
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815 - http.server's names

    return Handler


# --- the tests' side --------------------------------------------------------------------


def arm(port: int, *, path: str, action: str, seconds: float = 5, count: int = 1) -> None:
    body = json.dumps({"path": path, "action": action, "seconds": seconds, "count": count})
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{CONTROL}arm", data=body.encode(), method="POST"
    )
    urllib.request.urlopen(request, timeout=5).read()


def reset(port: int) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{CONTROL}reset", data=b"{}")
    urllib.request.urlopen(request, timeout=5).read()


def status(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{CONTROL}status", timeout=5) as r:
        return json.loads(r.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--target", required=True, help="host:port of the node RPC")
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    server = ThreadingHTTPServer(
        ("127.0.0.1", args.listen), make_handler((host, int(port)), State())
    )
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
