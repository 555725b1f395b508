"""A local stand-in for the four exchanges, serving their real response formats.

One ``ThreadingHTTPServer`` on 127.0.0.1 for the session; each provider lives under its own
path prefix (``http://127.0.0.1:PORT/kraken`` is Kraken's API root). Each exchange knows
its own symbols and answers the pairs a request asks for, as the real one does: Kraken
``/0/public/Ticker?pair=XMRXBT,XBTUSD`` (an unknown pair fails the whole call), KuCoin's
level-1 book per symbol and ``/api/v1/prices?base=USD&currencies=BTC,XMR``, CoinGecko
``simple/price?ids=...&vs_currencies=...``, Bitfinex ``/v2/tickers?symbols=...`` (an
unknown symbol is left out). A request for another path, or without the parameters, gets
a 404, so a good answer also proves the adapter asked the right question.

A test switches a provider's routes to a mode (``good``, ``error``, ``500``, ``429``,
``garbage``, ``shape``, ``zero``, ``negative``, ``hang``, ``trickle``) or to any status and
body it likes (``respond``), moves one pair's price (``quote``) or delists a pair
(``delist``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ALL_PROVIDERS = ["kraken", "kucoin", "coingecko", "bitfinex"]
FIAT_PAIRS = ["BTC/USD", "BTC/EUR", "XMR/USD", "XMR/EUR"]

# Each exchange's good book per pair: (bid, ask); a single price is its own bid and ask.
GOOD_BOOKS: dict[str, dict[str, tuple[str, str]]] = {
    "kraken": {
        "XMR/BTC": ("0.002798000", "0.002802000"),
        "BTC/USD": ("59990.0", "60010.0"),
        "BTC/EUR": ("54990.0", "55010.0"),
        "XMR/USD": ("167.90", "168.10"),
        "XMR/EUR": ("153.90", "154.10"),
    },
    "kucoin": {
        "XMR/BTC": ("0.00281", "0.002812"),
        "BTC/USD": ("60030", "60030"),
        "BTC/EUR": ("55020", "55020"),
        "XMR/USD": ("168.2", "168.2"),
        "XMR/EUR": ("154.2", "154.2"),
    },
    "coingecko": {
        "XMR/BTC": ("0.002805", "0.002805"),
        "BTC/USD": ("60010", "60010"),
        "BTC/EUR": ("55010", "55010"),
        "XMR/USD": ("168.1", "168.1"),
        "XMR/EUR": ("154.05", "154.05"),
    },
    "bitfinex": {  # Bitfinex has no XMR/EUR market
        "XMR/BTC": ("0.002789", "0.002791"),
        "BTC/USD": ("59970", "59990"),
        "BTC/EUR": ("54980", "55000"),
        "XMR/USD": ("167.8", "168.0"),
    },
}
# What each provider's good answer means, per pair.
GOOD_PRICES: dict[str, dict[str, Decimal]] = {
    name: {pair: (Decimal(bid) + Decimal(ask)) / 2 for pair, (bid, ask) in books.items()}
    for name, books in GOOD_BOOKS.items()
}
# 1 XMR in BTC, per provider.
GOOD_VALUES = {name: prices["XMR/BTC"] for name, prices in GOOD_PRICES.items()}

# Each exchange's own symbols: symbol -> pair (Kraken: altname -> (key in the answer, pair)).
KRAKEN = {
    "XMRXBT": ("XXMRXXBT", "XMR/BTC"),
    "XBTUSD": ("XXBTZUSD", "BTC/USD"),
    "XBTEUR": ("XXBTZEUR", "BTC/EUR"),
    "XMRUSD": ("XXMRZUSD", "XMR/USD"),
    "XMREUR": ("XXMRZEUR", "XMR/EUR"),
}
KUCOIN_BOOKS = {"XMR-BTC": "XMR/BTC"}
KUCOIN_FIAT = {"USD", "EUR"}
COINGECKO_IDS = {"bitcoin": "BTC", "monero": "XMR"}
COINGECKO_VS = {"btc": "BTC", "usd": "USD", "eur": "EUR"}
BITFINEX = {"tXMRBTC": "XMR/BTC", "tBTCUSD": "BTC/USD", "tBTCEUR": "BTC/EUR", "tXMRUSD": "XMR/USD"}

# The request an XMR/BTC price alone makes: path, and the query parameters it must carry.
ROUTES = {
    "kraken": ("/0/public/Ticker", {"pair": ["XMRXBT"]}),
    "kucoin": ("/api/v1/market/orderbook/level1", {"symbol": ["XMR-BTC"]}),
    "coingecko": ("/api/v3/simple/price", {"ids": ["monero"], "vs_currencies": ["btc"]}),
    "bitfinex": ("/v2/tickers", {"symbols": ["tXMRBTC"]}),
}


def kraken_ticker(bid: str, ask: str, key: str = "XXMRXXBT") -> str:
    return '{"error":[],"result":{' + _kraken_entry(key, bid, ask) + "}}"


def _kraken_entry(key: str, bid: str, ask: str) -> str:
    return (
        f'"{key}":{{'
        f'"a":["{ask}","12","12.000"],"b":["{bid}","3","3.000"],'
        f'"c":["{ask}","0.50000000"],"v":["120.10000000","812.22610000"],'
        f'"p":["{bid}","{ask}"],"t":[104,811],'
        f'"l":["{bid}","{bid}"],"h":["{ask}","{ask}"],'
        f'"o":"{bid}"}}'
    )


def kucoin_level1(bid: str, ask: str) -> str:
    return (
        '{"code":"200000","data":{"time":1729172965609,"sequence":"14609309753",'
        f'"price":"{ask}","size":"0.51","bestBid":"{bid}","bestBidSize":"1.2",'
        f'"bestAsk":"{ask}","bestAskSize":"3.1"}}}}'
    )


def kucoin_prices(prices: dict[str, str]) -> str:
    return json.dumps({"code": "200000", "data": prices}, separators=(",", ":"))


def coingecko_price(btc: str) -> str:
    return f'{{"monero":{{"btc":{btc}}}}}'


def bitfinex_ticker(symbol: str, bid: str, ask: str) -> str:
    return f'["{symbol}",{bid},95.1,{ask},80.2,0.000012,0.0043,{ask},1500.3,{ask},{bid}]'


def bitfinex_tickers(*tickers: str) -> str:
    return "[" + ",".join(tickers) + "]"


COMMON = {
    "500": (500, "<html><body><h1>500 Internal Server Error</h1></body></html>"),
    "429": (429, '{"error":"Too many requests"}'),
    "garbage": (200, "<html>cf-ray: 8c1d... please enable cookies</html>"),
}
BOOK_MODES = {"good": None, "zero": ("0", "0"), "negative": ("-1", "-0.5")}
MODES = {*BOOK_MODES, *COMMON, "error", "shape", "hang", "trickle"}


@dataclass(frozen=True)
class Ask:
    """What one request asked an exchange: the route and the pairs (unknown symbols: None)."""

    route: str
    symbols: tuple[str, ...]
    pairs: tuple[str | None, ...]
    fiat: str = ""


@dataclass
class SeenRequest:
    provider: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    def listed(self, key: str) -> list[str]:
        """A comma-separated query parameter, as a list."""
        return [item for value in self.query.get(key, []) for item in value.split(",")]


def _one(query: dict[str, list[str]], key: str) -> list[str] | None:
    values = query.get(key)
    if not values or len(values) != 1 or not values[0]:
        return None
    return values[0].split(",")


def route(provider: str, path: str, query: dict[str, list[str]]) -> Ask | None:
    """What a request asks of ``provider``, or None for a path or query it does not serve."""
    if provider == "kraken" and path == "/0/public/Ticker":
        symbols = _one(query, "pair")
        if symbols:
            return Ask(
                "ticker", tuple(symbols), tuple(KRAKEN.get(s, (0, None))[1] for s in symbols)
            )
    if provider == "kucoin" and path == "/api/v1/market/orderbook/level1":
        symbols = _one(query, "symbol")
        if symbols and len(symbols) == 1:
            return Ask("book", tuple(symbols), (KUCOIN_BOOKS.get(symbols[0]),))
    if provider == "kucoin" and path == "/api/v1/prices":
        base, coins = _one(query, "base"), _one(query, "currencies")
        if base and coins and len(base) == 1:
            fiat = base[0]
            pairs = tuple(f"{c}/{fiat}" if fiat in KUCOIN_FIAT else None for c in coins)
            return Ask("prices", tuple(coins), pairs, fiat=fiat)
    if provider == "coingecko" and path == "/api/v3/simple/price":
        ids, vs = _one(query, "ids"), _one(query, "vs_currencies")
        if ids and vs:
            symbols = tuple(f"{i}.{v}" for i in ids for v in vs)
            pairs = tuple(
                f"{COINGECKO_IDS[i]}/{COINGECKO_VS[v]}"
                if i in COINGECKO_IDS and v in COINGECKO_VS
                else None
                for i in ids
                for v in vs
            )
            return Ask("price", symbols, pairs)
    if provider == "bitfinex" and path == "/v2/tickers":
        symbols = _one(query, "symbols")
        if symbols:
            return Ask("tickers", tuple(symbols), tuple(BITFINEX.get(s) for s in symbols))
    return None


@dataclass
class FakeExchanges:
    port: int = 0
    modes: dict[str, str] = field(default_factory=dict)
    custom: dict[str, tuple[int, str]] = field(default_factory=dict)
    books: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    delisted: set[tuple[str, str]] = field(default_factory=set)
    seen: list[SeenRequest] = field(default_factory=list)
    hang_seconds: float = 5.0
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, provider: str) -> str:
        return f"http://127.0.0.1:{self.port}/{provider}"

    def set(self, provider: str, mode: str) -> None:
        """Switch all of a provider's routes to one of the modes."""
        assert mode in MODES, mode
        self.custom.pop(provider, None)
        self.modes[provider] = mode

    def respond(self, provider: str, status: int, body: str) -> None:
        """Serve exactly this status and body on all of a provider's routes."""
        self.custom[provider] = (status, body)

    def quote(self, provider: str, pair: str, bid: str, ask: str | None = None) -> None:
        """The provider's book for one pair (a single price when ``ask`` is not given)."""
        self.books[(provider, pair)] = (bid, ask or bid)

    def delist(self, provider: str, pair: str) -> None:
        """The provider no longer lists ``pair``: answered as its API answers an unknown one."""
        self.delisted.add((provider, pair))

    def last(self, provider: str) -> SeenRequest:
        return [r for r in self.seen if r.provider == provider][-1]

    def asked(self, provider: str) -> list[SeenRequest]:
        return [r for r in self.seen if r.provider == provider]

    def reset(self) -> None:
        self.release.set()
        self.modes.clear()
        self.custom.clear()
        self.books.clear()
        self.delisted.clear()
        self.seen.clear()
        self.release = threading.Event()

    def book(self, provider: str, pair: str | None, mode: str) -> tuple[str, str] | None:
        """The bid and ask served for ``pair``, or None when it is not listed."""
        if pair is None or (provider, pair) in self.delisted:
            return None
        if pair not in GOOD_BOOKS[provider]:
            return None
        if BOOK_MODES.get(mode):
            return BOOK_MODES[mode]
        return self.books.get((provider, pair), GOOD_BOOKS[provider][pair])

    def answer(self, provider: str, ask: Ask) -> tuple[int, str]:
        if provider in self.custom:
            return self.custom[provider]
        mode = self.modes.get(provider, "good")
        if mode in COMMON:
            return COMMON[mode]
        if mode in ("hang", "trickle"):
            mode = "good"
        books = [self.book(provider, pair, mode) for pair in ask.pairs]
        return ANSWERS[provider](self, ask, books, mode)


def _kraken(exchanges: FakeExchanges, ask: Ask, books: list, mode: str) -> tuple[int, str]:
    if mode == "error" or None in books:
        return 200, '{"error":["EQuery:Unknown asset pair"],"result":{}}'
    keys = [KRAKEN[symbol][0] for symbol in ask.symbols]
    if mode == "shape":
        return 200, '{"error":[],"result":{' + ",".join(
            f'"{key}":{{"a":"0.0028","b":[]}}' for key in keys
        ) + "}}"
    entries = [_kraken_entry(key, bid, ask_) for key, (bid, ask_) in zip(keys, books, strict=True)]
    return 200, '{"error":[],"result":{' + ",".join(entries) + "}}"


def _kucoin(exchanges: FakeExchanges, ask: Ask, books: list, mode: str) -> tuple[int, str]:
    if ask.route == "book":
        if mode == "error" or books[0] is None:
            return 200, '{"code":"200000","data":null}'
        if mode == "shape":
            return 200, '{"code":"200000","data":["0.00281","0.002812"]}'
        bid, ask_ = books[0]
        return 200, kucoin_level1(bid, ask_)
    if mode == "error" or ask.fiat not in KUCOIN_FIAT:
        return 200, '{"code":"400100","msg":"base currency not supported"}'
    if mode == "shape":
        return 200, '{"code":"200000","data":["60030"]}'
    prices = {c: b[0] for c, b in zip(ask.symbols, books, strict=True) if b is not None}
    return 200, kucoin_prices(prices)


def _coingecko(exchanges: FakeExchanges, ask: Ask, books: list, mode: str) -> tuple[int, str]:
    if mode == "error":
        return 200, "{}"
    answer: dict[str, dict[str, str]] = {}
    for symbol, pair, book in zip(ask.symbols, ask.pairs, books, strict=True):
        coin_id, _, vs = symbol.partition(".")
        if coin_id not in COINGECKO_IDS:
            continue
        if pair is not None and COINGECKO_IDS[coin_id] == COINGECKO_VS.get(vs):
            book = ("1", "1")  # bitcoin in btc
        if book is not None:
            answer.setdefault(coin_id, {})[vs] = book[0]
    if mode == "shape":
        return 200, "{" + ",".join(f'"{coin_id}":0.002805' for coin_id in answer) + "}"
    body = ",".join(
        f'"{coin_id}":{{' + ",".join(f'"{vs}":{price}' for vs, price in prices.items()) + "}"
        for coin_id, prices in answer.items()
    )
    return 200, "{" + body + "}"


def _bitfinex(exchanges: FakeExchanges, ask: Ask, books: list, mode: str) -> tuple[int, str]:
    if mode == "error":
        return 500, '["error",10020,"symbol: invalid"]'
    if mode == "shape":
        return 200, '{"bid":0.002789,"ask":0.002791}'
    tickers = [
        bitfinex_ticker(symbol, *book)
        for symbol, book in zip(ask.symbols, books, strict=True)
        if book is not None
    ]
    return 200, bitfinex_tickers(*tickers)


ANSWERS = {"kraken": _kraken, "kucoin": _kucoin, "coingecko": _coingecko, "bitfinex": _bitfinex}


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
        ask = route(provider, f"/{rest}", query)
        if ask is None:
            self._send(404, '{"error":"no such route"}')
            return
        mode = exchanges.modes.get(provider) if provider not in exchanges.custom else None
        status, body = exchanges.answer(provider, ask)
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
