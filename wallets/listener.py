"""The push path: node events trigger a deposit scan at once (deduplicated, through the queue).

- bitcoin: bcoin's websockets (socket.io v2): wallet events (``tx``, ``confirmed``,
  ``conflict``...) on the wallet port, and ``chain connect``/``block connect`` on the
  node port, so confirmations count up without wallet activity.
- monero: ``monerod --block-notify`` and ``monero-wallet-rpc --tx-notify`` run
  ``scripts/chain_notify.py``, which appends to the Redis list ``CHAIN_NOTIFY_KEY``.

Events are not replayed after a disconnect: the listener asks for a scan of both chains
whenever it (re)connects, and the 3-minute scheduled scan stays the safety net.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

import redis
import socketio
from django.conf import settings

from exchange.redis import get_redis
from wallets.services import scan_request

logger = logging.getLogger(__name__)

WALLET_EVENTS = ("tx", "confirmed", "unconfirmed", "conflict")
CHAIN_EVENTS = (
    "chain connect",
    "block connect",
    "chain disconnect",
    "block disconnect",
    "chain reset",
)


def _request(chain: str, why: str) -> None:
    try:
        if scan_request(chain=chain):
            logger.info("scan of %s requested (%s)", chain, why)
    except Exception:  # noqa: BLE001 - a broker hiccup must not kill the listener
        logger.exception("cannot request a %s scan", chain)


def _socket_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port}"


class BitcoinSocket:
    """One socket.io connection (node or wallet port) that re-authenticates on reconnect."""

    def __init__(self, url: str, *, events: tuple[str, ...], subscribe: tuple[str, ...]) -> None:
        self.url = _socket_url(url)
        self.subscribe = subscribe
        self.client = socketio.Client(
            reconnection=True, reconnection_delay=1, reconnection_delay_max=10
        )
        self.client.on("connect", self._on_connect)
        for event in events:
            self.client.on(event, self._make_handler(event))

    def _make_handler(self, event: str) -> Callable[..., None]:
        def handler(*_args: object) -> None:
            _request("bitcoin", f"bcoin {event}")

        return handler

    def _on_connect(self) -> None:
        # Handlers run on the client's thread; calls back to the server go through it too.
        threading.Thread(target=self._authenticate, daemon=True).start()

    def _authenticate(self) -> None:
        try:
            # bsock acknowledges with (error, result); (None, None) is success.
            err = self.client.call("auth", settings.BITCOIN["api_key"], timeout=10)
            if isinstance(err, tuple | list):
                err = err[0]
            if err:
                logger.error("bcoin socket %s refused the API key: %s", self.url, err)
                return
            self.client.call(*self.subscribe, timeout=10)
            _request("bitcoin", "socket connected")
        except Exception:  # noqa: BLE001 - the reconnect loop tries again
            logger.exception("bcoin socket %s: auth/subscribe failed", self.url)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if not self.client.connected:
                try:
                    self.client.connect(self.url, transports=["websocket"])
                except socketio.exceptions.ConnectionError as exc:
                    logger.warning("bcoin socket %s: %s", self.url, exc)
                    stop.wait(2)
                    continue
            stop.wait(1)
        if self.client.connected:
            self.client.disconnect()


def monero_notifications(stop: threading.Event) -> None:
    """Consume the Redis list the Monero notify scripts append to."""
    key = settings.CHAIN_NOTIFY_KEY
    # BLPOP blocks for up to a second: this client's read timeout must be longer.
    blocking = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5, decode_responses=True
    )
    while not stop.is_set():
        try:
            item = blocking.blpop([key], timeout=1)
        except redis.RedisError as exc:
            logger.warning("monero notifications: %s", exc)
            stop.wait(2)
            continue
        if item:
            # The client decodes responses: the list's items are str.
            event = cast(str, item[1]).split(" ", 1)[0]
            # Drain what piled up: one scan covers them all.
            try:
                get_redis().delete(key)
            except redis.RedisError:
                pass
            _request("monero", event)


def listen(stop: threading.Event) -> None:
    """Run every listener until ``stop`` is set."""
    conf = settings.BITCOIN
    wallet_socket = BitcoinSocket(
        conf["wallet_url"], events=WALLET_EVENTS, subscribe=("join", conf["wallet_id"])
    )
    node_socket = BitcoinSocket(conf["node_url"], events=CHAIN_EVENTS, subscribe=("watch chain",))
    threads = [
        threading.Thread(target=wallet_socket.run, args=(stop,), name="bcoin-wallet", daemon=True),
        threading.Thread(target=node_socket.run, args=(stop,), name="bcoin-node", daemon=True),
        threading.Thread(target=monero_notifications, args=(stop,), name="monero", daemon=True),
    ]
    for thread in threads:
        thread.start()
    _request("monero", "listener started")
    while not stop.is_set():
        time.sleep(0.5)
    for thread in threads:
        thread.join(timeout=5)
