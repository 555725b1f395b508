"""A local stand-in for the four exchanges, serving their real response formats.

One ``ThreadingHTTPServer`` on 127.0.0.1 for the session; each provider lives under its own
path prefix (``http://127.0.0.1:PORT/kraken`` is Kraken's API root). A test switches a
provider's route to a mode (``good``, ``error``, ``500``, ``429``, ``garbage``, ``shape``,
``zero``, ``negative``, ``hang``, ``trickle``) or to any status and body it likes. A request
that does not match the provider's real path and query gets a 404, so a good answer also
proves the adapter asked the right question.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ALL_PROVIDERS = ["kraken", "kucoin", "coingecko", "bitfinex"]

# What each provider's good payload means (1 XMR in BTC).
GOOD_VALUES = {
    "kraken": Decimal("0.0028"),  # mid of 0.002798 and 0.002802
    "kucoin": Decimal("0.002811"),  # mid of 0.00281 and 0.002812
    "coingecko": Decimal("0.002805"),
    "bitfinex": Decimal("0.00279"),  # mid of 0.002789 and 0.002791
}

ROUTES = {
    "kraken": ("/0/public/Ticker", {"pair": ["XMRXBT"]}),
    "kucoin": ("/api/v1/market/orderbook/level1", {"symbol": ["XMR-BTC"]}),
    "coingecko": ("/api/v3/simple/price", {"ids": ["monero"], "vs_currencies": ["btc"]}),
    "bitfinex": ("/v2/ticker/tXMRBTC", {}),
}


def kraken_ticker(bid: str, ask: str) -> str:
    return (
        '{"error":[],"result":{"XXMRXXBT":{'
        f'"a":["{ask}","12","12.000"],"b":["{bid}","3","3.000"],'
        '"c":["0.002800000","0.50000000"],"v":["120.10000000","812.22610000"],'
        '"p":["0.002801234","0.002799876"],"t":[104,811],'
        '"l":["0.002750000","0.002750000"],"h":["0.002850000","0.002850000"],'
        '"o":"0.002790000"}}}'
    )


def kucoin_level1(bid: str, ask: str) -> str:
    return (
        '{"code":"200000","data":{"time":1729172965609,"sequence":"14609309753",'
        f'"price":"0.002811","size":"0.51","bestBid":"{bid}","bestBidSize":"1.2",'
        f'"bestAsk":"{ask}","bestAskSize":"3.1"}}}}'
    )


def coingecko_price(btc: str) -> str:
    return f'{{"monero":{{"btc":{btc}}}}}'


def bitfinex_ticker(bid: str, ask: str) -> str:
    return f"[{bid},95.1,{ask},80.2,0.000012,0.0043,0.00279,1500.3,0.00285,0.00275]"


PAYLOADS: dict[str, dict[str, tuple[int, str]]] = {
    "kraken": {
        "good": (200, kraken_ticker("0.002798000", "0.002802000")),
        "error": (200, '{"error":["EQuery:Unknown asset pair"],"result":{}}'),
        "shape": (200, '{"error":[],"result":{"XXMRXXBT":{"a":"0.0028","b":[]}}}'),
        "zero": (200, kraken_ticker("0", "0")),
        "negative": (200, kraken_ticker("-0.002802", "-0.002798")),
    },
    "kucoin": {
        "good": (200, kucoin_level1("0.00281", "0.002812")),
        "error": (200, '{"code":"200000","data":null}'),
        "shape": (200, '{"code":"200000","data":["0.00281","0.002812"]}'),
        "zero": (200, kucoin_level1("0", "0.002812")),
        "negative": (200, kucoin_level1("-0.00281", "0.002812")),
    },
    "coingecko": {
        "good": (200, coingecko_price("0.002805")),
        "error": (200, "{}"),
        "shape": (200, '{"monero":0.002805}'),
        "zero": (200, coingecko_price("0")),
        "negative": (200, coingecko_price("-0.002805")),
    },
    "bitfinex": {
        "good": (200, bitfinex_ticker("0.002789", "0.002791")),
        "error": (500, '["error",10020,"symbol: invalid"]'),
        "shape": (200, '{"bid":0.002789,"ask":0.002791}'),
        "zero": (200, bitfinex_ticker("0", "0")),
        "negative": (200, bitfinex_ticker("-0.002791", "-0.002789")),
    },
}
COMMON = {
    "500": (500, "<html><body><h1>500 Internal Server Error</h1></body></html>"),
    "429": (429, '{"error":"Too many requests"}'),
    "garbage": (200, "<html>cf-ray: 8c1d... please enable cookies</html>"),
}


@dataclass
class SeenRequest:
    provider: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class FakeExchanges:
    port: int = 0
    modes: dict[str, str] = field(default_factory=dict)
    custom: dict[str, tuple[int, str]] = field(default_factory=dict)
    seen: list[SeenRequest] = field(default_factory=list)
    hang_seconds: float = 5.0
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, provider: str) -> str:
        return f"http://127.0.0.1:{self.port}/{provider}"

    def set(self, provider: str, mode: str) -> None:
        """Switch a provider's route to one of the modes."""
        assert mode in PAYLOADS[provider] or mode in COMMON or mode in ("hang", "trickle")
        self.custom.pop(provider, None)
        self.modes[provider] = mode

    def respond(self, provider: str, status: int, body: str) -> None:
        """Serve exactly this status and body on a provider's route."""
        self.custom[provider] = (status, body)

    def last(self, provider: str) -> SeenRequest:
        return [r for r in self.seen if r.provider == provider][-1]

    def reset(self) -> None:
        self.release.set()
        self.modes.clear()
        self.custom.clear()
        self.seen.clear()
        self.release = threading.Event()

    def answer(self, provider: str) -> tuple[int, str]:
        if provider in self.custom:
            return self.custom[provider]
        mode = self.modes.get(provider, "good")
        if mode in COMMON:
            return COMMON[mode]
        return PAYLOADS[provider]["good" if mode in ("hang", "trickle") else mode]


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass

    def do_GET(self):
        exchanges = self.server.exchanges
        parts = urlsplit(self.path)
        provider, _, rest = parts.path.lstrip("/").partition("/")
        query = parse_qs(parts.query)
        exchanges.seen.append(SeenRequest(provider, f"/{rest}", query, dict(self.headers)))
        route = ROUTES.get(provider)
        if (
            route is None
            or f"/{rest}" != route[0]
            or any(query.get(k) != v for k, v in route[1].items())
        ):
            self._send(404, '{"error":"no such route"}')
            return
        mode = exchanges.modes.get(provider) if provider not in exchanges.custom else None
        status, body = exchanges.answer(provider)
        if mode == "hang":
            exchanges.release.wait(exchanges.hang_seconds)
        if mode == "trickle":
            self._trickle(body, exchanges.release)
            return
        self._send(status, body)

    def _send(self, status: int, body: str) -> None:
        data = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass

    def _trickle(self, body: str, release: threading.Event) -> None:
        """Headers at once, then one byte every 0.3 s: no single read ever times out."""
        data = body.encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.flush()
            for i in range(len(data)):
                if release.wait(0.3):
                    return
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
        except OSError:
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    exchanges: FakeExchanges
