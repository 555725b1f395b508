"""What a load run sends, and over what: the requests, the loopback target, the raw client.

``Req`` is one HTTP request and a ``Factory`` gives the i-th request of a run (``fixed``
and ``cycle`` make the usual ones). ``Target`` accepts loopback ``http://`` URLs only.
``Conn`` is one HTTP/1.1 keep-alive connection over asyncio streams and ``encode`` the
bytes of a request on it. ``bounded`` applies the hard bounds every run obeys, whatever
the caller asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

# Hard bounds on every run, whatever the caller asks.
MAX_DURATION_S = 600.0
MAX_REQUESTS = 200_000
MAX_CONNECTIONS = 256
DEFAULT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Req:
    """One HTTP request (the Host header and Content-Length are added when sent)."""

    method: str = "GET"
    path: str = "/"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


# The i-th request of a run (i from 0).
Factory = Callable[[int], Req]


def fixed(req: Req) -> Factory:
    return lambda _i: req


def cycle(reqs: list[Req]) -> Factory:
    return lambda i: reqs[i % len(reqs)]


@dataclass
class Target:
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"{url}: loopback http:// only")
        return cls("127.0.0.1", parts.port or 80)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"


class Conn:
    """One keep-alive connection; ``exchange`` sends a request and reads the whole answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.reusable = True
        self.last_used = time.monotonic()

    @classmethod
    async def open(cls, target: Target, timeout: float) -> Conn:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(target.host, target.port), timeout
        )
        return cls(reader, writer)

    async def exchange(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunked()
        else:
            body = await self.reader.read()
            self.reusable = False
        if headers.get("connection", "").lower() == "close":
            self.reusable = False
        self.last_used = time.monotonic()
        return status, body

    async def _chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.reusable = False
        with contextlib.suppress(Exception):
            self.writer.close()


def encode(target: Target, req: Req) -> bytes:
    lines = [f"{req.method} {req.path} HTTP/1.1", f"Host: {target.host}:{target.port}"]
    lines += [f"{k}: {v}" for k, v in req.headers]
    if req.body or req.method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(req.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + req.body


def bounded(duration: float | None, requests: int | None) -> tuple[float, int]:
    """A run's duration and request count, within the hard bounds (one may be None)."""
    if duration is None and requests is None:
        raise ValueError("give a duration, a request count or both")
    d = min(MAX_DURATION_S, duration if duration is not None else MAX_DURATION_S)
    n = min(MAX_REQUESTS, requests if requests is not None else MAX_REQUESTS)
    if d <= 0 or n <= 0:
        raise ValueError("duration and request count must be positive")
    return d, n
