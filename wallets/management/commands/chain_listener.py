from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from wallets.listener import listen


class Command(BaseCommand):
    help = "Listen to node events (bcoin websockets, Monero notify scripts) and request scans."

    def handle(self, *args: str, **options: object) -> None:
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write("chain listener running (Ctrl-C stops it)")
        listen(stop)
