"""Requests the server makes to addresses its users chose (webhook deliveries).

A destination is checked at registration and again at every delivery: its host is resolved
(every notation the resolver accepts: decimal, octal and hex IPv4 forms, IPv4-mapped IPv6)
and refused if any address it resolves to is not a public unicast address (loopback,
private, shared, link-local, multicast, reserved, unspecified, or one of those embedded in
an IPv6 form). The request then goes to the address that was checked, with the name as
Host and TLS server name, so DNS cannot answer differently between check and connect.
Redirects are never followed. At most ``WEBHOOK_EXCERPT_BYTES`` of the answer is read.

``WEBHOOK_ALLOWED_HOSTS`` lists internal destinations an operator allows by name
(``host`` or ``host:port``). With ``WEBHOOK_PROXY_URL`` (``socks5h://127.0.0.1:9050`` for
Tor, or an HTTP proxy) every delivery goes through the proxy, which connects and resolves:
the checks still refuse internal names and literals before anything is sent.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import requests
import urllib3
from django.conf import settings

from exchange.errors import ApplicationError

DEFAULT_PORTS = {"http": 80, "https": 443}
# NAT64 (RFC 6052) prefixes carry an IPv4 address in their last 32 bits.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class DestinationRefused(ApplicationError):
    code = "destination_refused"


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    target: str  # path and query
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in net for net in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    # IPv4-compatible (::a.b.c.d, deprecated) addresses.
    if int(address) >> 32 == 0 and int(address) > 1:
        return ipaddress.IPv4Address(int(address))
    return None


def address_is_public(text: str) -> bool:
    """A global unicast address, and so is any IPv4 address embedded in it."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and not address_is_public(str(embedded)):
            return False
    return address.is_global and not address.is_multicast


def _allowed(host: str, port: int) -> bool:
    entries = {entry.strip().lower() for entry in settings.WEBHOOK_ALLOWED_HOSTS if entry.strip()}
    return host in entries or f"{host}:{port}" in entries


def _resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"{host!r} does not resolve: {exc}", field="url") from exc
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise DestinationRefused(f"{host!r} does not resolve", field="url")
    return addresses


def destination_check(url: str) -> Destination:
    """The destination of ``url`` if every address its host resolves to may be reached;
    DestinationRefused (400, naming ``url``) otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise DestinationRefused("an http or https URL is required", field="url")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise DestinationRefused("the port is not a number from 1 to 65535", field="url") from exc
    host = parts.hostname.lower().rstrip(".")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    addresses = _resolve(host, port)
    if not _allowed(host, port):
        inside = [a for a in addresses if not address_is_public(a)]
        if inside:
            raise DestinationRefused(
                f"{host!r} resolves to {inside[0]}, an internal address: webhooks go to public"
                " addresses only (an operator can allow a host in WEBHOOK_ALLOWED_HOSTS)",
                field="url",
            )
    return Destination(parts.scheme, host, port, target, addresses)


def _read_excerpt(stream) -> str:
    data = stream.read(settings.WEBHOOK_EXCERPT_BYTES, decode_content=False) or b""
    return data[: settings.WEBHOOK_EXCERPT_BYTES].decode("utf-8", errors="replace")


def _timeout() -> urllib3.Timeout:
    return urllib3.Timeout(
        connect=settings.WEBHOOK_CONNECT_TIMEOUT, read=settings.WEBHOOK_READ_TIMEOUT
    )


def _post_direct(dest: Destination, body: bytes, headers: dict[str, str]) -> Answer:
    """POST to the checked address itself (the first one that accepts a connection)."""
    options: dict = {"timeout": _timeout(), "retries": False, "maxsize": 1}
    if dest.scheme == "https":
        pool_class: type = urllib3.HTTPSConnectionPool
        options.update(
            server_hostname=dest.host,
            assert_hostname=dest.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
    else:
        pool_class = urllib3.HTTPConnectionPool
    last: Exception | None = None
    for address in dest.addresses:
        pool = pool_class(address, dest.port, **options)
        try:
            response = pool.urlopen(
                "POST",
                dest.target,
                body=body,
                headers={**headers, "Host": dest.host_header},
                redirect=False,
                preload_content=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.NewConnectionError as exc:
            last = exc
            pool.close()
            continue
        try:
            return Answer(response.status, _read_excerpt(response))
        finally:
            response.close()
            pool.close()
    raise last or urllib3.exceptions.HTTPError("no address to connect to")


def _post_proxied(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    proxy = settings.WEBHOOK_PROXY_URL
    with requests.Session() as session:
        session.trust_env = False
        response = session.post(
            url,
            data=body,
            headers=headers,
            proxies={"http": proxy, "https": proxy},
            timeout=(settings.WEBHOOK_CONNECT_TIMEOUT, settings.WEBHOOK_READ_TIMEOUT),
            allow_redirects=False,
            stream=True,
        )
        try:
            return Answer(response.status_code, _read_excerpt(response.raw))
        finally:
            response.close()


def outbound_post(*, url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST ``body`` to ``url`` after checking it again. Raises DestinationRefused, or an
    ``OSError``/``urllib3``/``requests`` error for a transport failure."""
    dest = destination_check(url)
    if settings.WEBHOOK_PROXY_URL:
        return _post_proxied(url, body, headers)
    return _post_direct(dest, body, headers)
