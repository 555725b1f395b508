"""What every market data provider shares: typed errors, the timed session, the registry.

A provider prices pairs (``rates.pairs``): each declares the pairs it quotes and its own
symbol for each (``symbol``), groups the pairs it is asked for into as few HTTP calls as
its API allows (``batches``: one for most) and answers a call with a price per pair
(``fetch_pairs``), as a ``Decimal``. A pair it does not quote is never asked of it. Its
errors say what went wrong:
- ``ProviderUnavailable``: refused connection, timeout, HTTP 5xx, HTTP 429, or an error the
  provider itself calls temporary (rate limit, maintenance). Asking again later may work.
- ``ProviderBadResponse``: an answer we cannot trust: not JSON, an unexpected shape, an
  unknown pair, a price that is not positive or not plausible for its pair. Asking again
  will not help.
An error of the whole call is raised; an answer that prices some pairs and not others
gives the error in place of each missing price.

Prices are parsed from JSON with ``parse_float=Decimal`` and never pass through float.
Providers are named in RATES_PROVIDERS; ``configured_providers()`` resolves the names and
refuses unknown or duplicate ones by name.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import requests
import urllib3
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from requests.adapters import HTTPAdapter

from rates.pairs import PAIR_XMR_BTC, plausible_range

# Provider name -> class. Each module parses that provider's public API format.
PROVIDER_CLASSES: dict[str, str] = {
    "bitfinex": "rates.providers.bitfinex.BitfinexProvider",
    "coingecko": "rates.providers.coingecko.CoingeckoProvider",
    "kraken": "rates.providers.kraken.KrakenProvider",
    "kucoin": "rates.providers.kucoin.KucoinProvider",
    "static": "rates.providers.static.StaticProvider",
}

# A ticker answer is a few hundred bytes; anything this big is not one.
MAX_BODY_BYTES = 256 * 1024
USER_AGENT = "exchange-engine-rates/1.0"


class ProviderError(Exception):
    """Base of every provider error; ``provider`` names the source."""

    kind = "error"

    def __init__(self, message: str, *, provider: str):
        super().__init__(message)
        self.message = message
        self.provider = provider


class ProviderUnavailable(ProviderError):
    """Transient: connection error, timeout, HTTP 5xx or 429, a temporary provider error."""

    kind = "unavailable"


class ProviderBadResponse(ProviderError):
    """The provider answered something we cannot use as a price."""

    kind = "bad response"


def snippet(body: bytes | str, limit: int = 120) -> str:
    """The start of a response body, on one line, for error messages."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[:limit]}…"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def decode_json(body: bytes, *, provider: str) -> Any:
    """Parse a JSON body: decimals become ``Decimal``, NaN and Infinity are refused."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ProviderBadResponse(
            f"not JSON: {snippet(body) or '(empty body)'}", provider=provider
        ) from exc


def to_price(value: Any, *, provider: str, field: str, pair: str = PAIR_XMR_BTC) -> Decimal:
    """A positive, finite price from a JSON string, integer or decimal, in the plausible
    range of ``pair``'s kind (``rates.pairs.plausible_range``)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ProviderBadResponse(f"{field} is {value!r}, not a price", provider=provider)
    try:
        price = Decimal(value)
    except InvalidOperation as exc:
        raise ProviderBadResponse(f"{field} is {value!r}, not a price", provider=provider) from exc
    if not price.is_finite() or price <= 0:
        raise ProviderBadResponse(f"{field} {value!r} is not a positive price", provider=provider)
    low, high = plausible_range(pair)
    if not low <= price < high:
        raise ProviderBadResponse(
            f"{field} {value!r} is outside the plausible {pair} range", provider=provider
        )
    return price


def mid_price(*, bid: Decimal, ask: Decimal, provider: str) -> Decimal:
    """The middle of the best bid and the best ask; a crossed book is refused."""
    if bid > ask:
        raise ProviderBadResponse(f"crossed book: bid {bid} > ask {ask}", provider=provider)
    return (bid + ask) / 2


# One call's answer: a price, or the error in its place, per pair asked.
PairPrices = dict[str, Decimal | ProviderError]


def prices_each(pairs: Iterable[str], price: Callable[[str], Decimal]) -> PairPrices:
    """``price(pair)`` for every pair, a ``ProviderError`` it raises kept in its place."""
    answers: PairPrices = {}
    for pair in pairs:
        try:
            answers[pair] = price(pair)
        except ProviderError as exc:
            answers[pair] = exc
    return answers


class Provider:
    """A source of prices. Subclasses set ``name`` and implement ``symbol`` and
    ``fetch_pairs``."""

    name: ClassVar[str] = ""

    def check(self) -> None:
        """Raise ``ImproperlyConfigured`` if the settings this provider needs are missing."""

    def symbol(self, pair: str) -> str | None:
        """The provider's own name for ``pair``, or None when it does not quote it."""
        raise NotImplementedError

    def quoted(self, pairs: Iterable[str]) -> list[str]:
        """The pairs of ``pairs`` this provider quotes, in order."""
        return [pair for pair in pairs if self.symbol(pair) is not None]

    def batches(self, pairs: Sequence[str]) -> list[tuple[str, ...]]:
        """The calls that answer ``pairs`` (all quoted by it): one call, unless its API
        prices fewer pairs at a time."""
        return [tuple(pairs)] if pairs else []

    def fetch_pairs(self, pairs: Sequence[str]) -> PairPrices:
        """One call's prices of ``pairs`` (one batch), or a ``ProviderError`` for the call."""
        raise NotImplementedError

    def fetch(self, pair: str = PAIR_XMR_BTC) -> Decimal:
        """The current price of one pair (1 XMR in BTC by default), or a ``ProviderError``."""
        if self.symbol(pair) is None:
            raise ProviderBadResponse(f"does not quote {pair}", provider=self.name)
        answer = self.fetch_pairs([pair]).get(pair)
        if isinstance(answer, ProviderError):
            raise answer
        if answer is None:
            raise ProviderBadResponse(f"no price for {pair} in the answer", provider=self.name)
        return answer

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} {self.name}>"


def new_session() -> requests.Session:
    """A keep-alive session that never retries on its own (the refresh task retries)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # Tickers are small: ask for them uncompressed (a compressed one is still decoded).
    session.headers.update(
        {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "identity"}
    )
    return session


class HttpProvider(Provider):
    """A provider behind HTTP GETs, one per batch: its own session, the (connect, read)
    timeouts from RATES_PROVIDER_TIMEOUT on every call, and a total deadline on reading the
    body, so a server that trickles bytes cannot hold the call past the timeout either.
    Subclasses say what to ask (``request``) and read the answer (``parse``)."""

    def __init__(self) -> None:
        self.session = new_session()

    @property
    def base_url(self) -> str:
        """The provider's API root from RATES_PROVIDER_URLS (read on every call)."""
        url = settings.RATES_PROVIDER_URLS.get(self.name)
        if not url:
            raise ImproperlyConfigured(f"RATES_PROVIDER_URLS has no URL for provider {self.name!r}")
        return url.rstrip("/")

    def check(self) -> None:
        self.base_url  # noqa: B018 - raises when the URL is missing

    def headers(self) -> dict[str, str]:
        """Extra request headers (an API key, for instance)."""
        return {}

    def request(self, pairs: Sequence[str]) -> tuple[str, dict[str, str]]:
        """The path and query parameters of the call that prices ``pairs``."""
        raise NotImplementedError

    def parse(self, payload: Any, pairs: Sequence[str]) -> PairPrices:
        """The price of each pair in a decoded, successful answer; a ``ProviderError``
        raised for the whole answer or kept in place of one pair's price."""
        raise NotImplementedError

    def fetch_pairs(self, pairs: Sequence[str]) -> PairPrices:
        path, params = self.request(pairs)
        return self.parse(self.get_json(path, params), pairs)

    def error_for_status(self, status: int, body: bytes) -> ProviderError | None:
        """The error an HTTP status means, or None for a success."""
        if 200 <= status < 300:
            return None
        message = f"HTTP {status}: {snippet(body) or '(empty body)'}"
        if status in (408, 429) or status >= 500:
            return ProviderUnavailable(message, provider=self.name)
        return ProviderBadResponse(message, provider=self.name)

    def get_json(self, path: str, params: dict[str, str]) -> Any:
        """GET one of the provider's endpoints and decode its JSON answer."""
        timeout = float(settings.RATES_PROVIDER_TIMEOUT)
        deadline = time.monotonic() + timeout
        try:
            with self.session.get(
                self.base_url + path,
                params=params,
                headers=self.headers(),
                timeout=(timeout, timeout),
                stream=True,
                allow_redirects=False,
            ) as response:
                status = response.status_code
                body = self._read_body(response, deadline=deadline, timeout=timeout)
        except requests.Timeout as exc:
            raise ProviderUnavailable(
                f"no answer within {timeout:g} s", provider=self.name
            ) from exc
        except requests.ConnectionError as exc:
            raise ProviderUnavailable(
                f"unreachable: {snippet(str(exc), 200)}", provider=self.name
            ) from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(
                f"request failed: {exc.__class__.__name__}: {snippet(str(exc), 200)}",
                provider=self.name,
            ) from exc
        error = self.error_for_status(status, body)
        if error is not None:
            raise error
        return decode_json(body, provider=self.name)

    def _read_body(self, response: requests.Response, *, deadline: float, timeout: float) -> bytes:
        """The whole body, read one network read at a time so the deadline is checked
        between reads (``iter_content`` would wait to fill each chunk)."""
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                chunk = response.raw.read1(16 * 1024, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise ProviderBadResponse(
                        f"answer larger than {MAX_BODY_BYTES} bytes", provider=self.name
                    )
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise ProviderUnavailable(
                        f"no full answer within {timeout:g} s", provider=self.name
                    )
        except urllib3.exceptions.DecodeError as exc:
            raise ProviderBadResponse(f"undecodable body: {exc}", provider=self.name) from exc
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise ProviderUnavailable(
                f"no full answer within {timeout:g} s", provider=self.name
            ) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ProviderUnavailable(
                f"connection broken: {snippet(str(exc), 200)}", provider=self.name
            ) from exc
        return b"".join(chunks)


# --- registry ---------------------------------------------------------------------

_instances: dict[str, Provider] = {}
_instances_lock = threading.Lock()


def get_provider(name: str) -> Provider:
    """The provider called ``name`` (one instance, and so one session, per process)."""
    path = PROVIDER_CLASSES.get(name)
    if path is None:
        raise ImproperlyConfigured(
            f"RATES_PROVIDERS: unknown provider {name!r} "
            f"(known providers: {', '.join(sorted(PROVIDER_CLASSES))})"
        )
    with _instances_lock:
        provider = _instances.get(name)
        if provider is None:
            provider = _instances[name] = import_string(path)()
    return provider


def configured_providers() -> list[Provider]:
    """The providers RATES_PROVIDERS names, in order; a bad list raises ImproperlyConfigured."""
    names = [str(name).strip().lower() for name in settings.RATES_PROVIDERS]
    names = [name for name in names if name]
    if not names:
        raise ImproperlyConfigured("RATES_PROVIDERS is empty: name at least one provider")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ImproperlyConfigured(f"RATES_PROVIDERS lists provider {name!r} twice")
        seen.add(name)
    providers = [get_provider(name) for name in names]
    for provider in providers:
        provider.check()
    return providers
