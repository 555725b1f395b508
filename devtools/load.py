"""The benchmarks' load generator: a fixed rate (open loop) and saturation (closed loop).

Against ``http://127.0.0.1:PORT`` only (loopback), HTTP/1.1 keep-alive, every loop bounded
in request count and in time. Each run records every request's latency, status code and
transport error, and reports throughput, p50/p95/p99, max, the status codes and the
error count (transport errors, timeouts and non-2xx answers).

- ``open_loop``: requests are *scheduled* at a fixed rate (request i at start + i/rate),
  whatever the server does, on a pool of keep-alive connections (a new one opens when
  every open one is busy, up to ``max_connections``; one idle for over a second is not
  reused, as gunicorn may be closing it). Latency runs from the scheduled
  time, so a slow server or a late client shows up in the figures instead of lowering
  the rate (no coordinated omission). Python asyncio over raw sockets: at 100-1,000
  requests/s it uses a few percent of a core (``client_cpu_s`` says how much).
- ``closed_loop``: N connections, each sending its next request as soon as the previous
  answer is in, for a duration and/or a request count. Python asyncio, for when wrk is
  missing and for small bounded runs (warm-ups, exact counts).
- ``wrk_closed_loop``: the same with Debian's ``wrk`` (C, epoll), driven by a generated Lua
  script (method, path, body per request, cycling through templates; a unique
  Idempotency-Key per request; status codes counted; latency percentiles printed by
  ``done()``). At saturation the client must not be the bottleneck on a 2-core machine:
  wrk spends about a third of the CPU per request that the Python client does (both
  report their CPU time). Fixed-rate runs with wrk would need wrk2, which Debian lacks.

- ``measure``: for a test, plain ``requests`` calls round-robin for some seconds, with
  their latency percentiles and error count (a few requests per second is all it needs).

Command line (for trying things by hand; the benchmarks import the functions):

    .venv/bin/python -m devtools.load rate http://127.0.0.1:20780/api/rates --rate 100 --duration 10
    .venv/bin/python -m devtools.load saturate http://127.0.0.1:20780/api/rates -c 16 -d 10 --tool wrk
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# Hard bounds on every run, whatever the caller asks.
MAX_DURATION_S = 600.0
MAX_REQUESTS = 200_000
MAX_CONNECTIONS = 256
DEFAULT_TIMEOUT_S = 10.0
# A keep-alive connection idle longer than this is not reused: gunicorn closes idle
# connections after 2 s (--keep-alive), and a request sent as it does so would fail.
IDLE_REUSE_S = 1.0


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


@dataclass
class Recorder:
    latencies: list[float] = field(default_factory=list)  # seconds, answered requests
    status: Counter = field(default_factory=Counter)
    transport_errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    first_start: float | None = None
    last_end: float | None = None

    def answered(self, started: float, ended: float, latency: float, status: int) -> None:
        self.latencies.append(latency)
        self.status[str(status)] += 1
        self._span(started, ended)

    def failed(self, started: float, ended: float, what: str) -> None:
        self.transport_errors += 1
        self.status["error"] += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what)
        self._span(started, ended)

    def _span(self, started: float, ended: float) -> None:
        if self.first_start is None or started < self.first_start:
            self.first_start = started
        if self.last_end is None or ended > self.last_end:
            self.last_end = ended


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of sorted values (0.0 for none)."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values), max(1, math.ceil(pct / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def summary(rec: Recorder, **about) -> dict:
    lat = sorted(rec.latencies)
    answered = len(lat)
    non_2xx = sum(n for code, n in rec.status.items() if code != "error" and code[0] != "2")
    span = (rec.last_end - rec.first_start) if rec.first_start is not None else 0.0
    out = dict(about)
    out.update(
        {
            "requests": answered + rec.transport_errors,
            "answered": answered,
            "seconds": round(span, 3),
            "throughput_rps": round(answered / span, 1) if span > 0 else None,
            "p50_ms": _ms(percentile(lat, 50)),
            "p95_ms": _ms(percentile(lat, 95)),
            "p99_ms": _ms(percentile(lat, 99)),
            "max_ms": _ms(lat[-1]) if lat else None,
            "mean_ms": _ms(sum(lat) / answered) if answered else None,
            "status": dict(sorted(rec.status.items())),
            "non_2xx": non_2xx,
            "transport_errors": rec.transport_errors,
            "errors": non_2xx + rec.transport_errors,
            "error_samples": rec.error_samples,
        }
    )
    return out


# --- the raw HTTP/1.1 client --------------------------------------------------------------


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


def _bounded(duration: float | None, requests: int | None) -> tuple[float, int]:
    if duration is None and requests is None:
        raise ValueError("give a duration, a request count or both")
    d = min(MAX_DURATION_S, duration if duration is not None else MAX_DURATION_S)
    n = min(MAX_REQUESTS, requests if requests is not None else MAX_REQUESTS)
    if d <= 0 or n <= 0:
        raise ValueError("duration and request count must be positive")
    return d, n


# --- open loop (fixed rate) ---------------------------------------------------------------


async def _open_loop(
    target: Target,
    factory: Factory,
    rate: float,
    n: int,
    max_connections: int,
    timeout: float,
) -> tuple[Recorder, float]:
    loop = asyncio.get_running_loop()
    rec = Recorder()
    idle: list[Conn] = []
    slots = asyncio.Semaphore(max_connections)
    behind = 0.0
    # Open a few connections up front, so the first requests do not pay for them.
    for _ in range(min(4, max_connections)):
        idle.append(await Conn.open(target, timeout))

    async def one(i: int, scheduled: float) -> None:
        raw = encode(target, factory(i))
        async with slots:
            conn = None
            while idle and conn is None:
                conn = idle.pop()
                if time.monotonic() - conn.last_used > IDLE_REUSE_S:
                    conn.close()  # the server may be closing it right now
                    conn = None
            try:
                if conn is None:
                    conn = await Conn.open(target, timeout)
                status, _ = await asyncio.wait_for(conn.exchange(raw), timeout)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded
                if conn is not None:
                    conn.close()
                rec.failed(scheduled, loop.time(), f"{exc.__class__.__name__}: {exc}")
                return
            ended = loop.time()
            rec.answered(scheduled, ended, ended - scheduled, status)
            if conn.reusable:
                idle.append(conn)
            else:
                conn.close()

    tasks = []
    start = loop.time() + 0.02
    for i in range(n):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            behind = max(behind, -delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    for conn in idle:
        conn.close()
    return rec, behind


def open_loop(
    url: str,
    factory: Factory,
    *,
    rate: float,
    duration: float,
    max_connections: int = 64,
    timeout: float = DEFAULT_TIMEOUT_S,
    label: str = "",
) -> dict:
    """``rate`` requests/s for ``duration`` s, latency from each request's scheduled time."""
    target = Target.parse(url)
    duration, _ = _bounded(duration, None)
    n = min(MAX_REQUESTS, int(round(rate * duration)))
    cpu0 = time.process_time()
    rec, behind = asyncio.run(
        _open_loop(target, factory, rate, n, min(max_connections, MAX_CONNECTIONS), timeout)
    )
    cpu = time.process_time() - cpu0
    return summary(
        rec,
        label=label,
        mode="open loop (fixed rate)",
        tool="python asyncio",
        rate_rps=rate,
        planned_requests=n,
        max_connections=max_connections,
        client_behind_schedule_max_ms=_ms(behind),
        client_cpu_s=round(cpu, 2),
    )


# --- closed loop (saturation), Python -----------------------------------------------------


async def _closed_loop(
    target: Target,
    factory: Factory,
    connections: int,
    duration: float,
    n: int,
    timeout: float,
) -> Recorder:
    loop = asyncio.get_running_loop()
    rec = Recorder()
    counter = itertools.count()
    deadline = loop.time() + duration

    async def worker() -> None:
        conn: Conn | None = None
        while loop.time() < deadline:
            i = next(counter)
            if i >= n:
                break
            raw = encode(target, factory(i))
            started = loop.time()
            try:
                if conn is None:
                    conn = await Conn.open(target, timeout)
                status, _ = await asyncio.wait_for(conn.exchange(raw), timeout)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded
                if conn is not None:
                    conn.close()
                conn = None
                rec.failed(started, loop.time(), f"{exc.__class__.__name__}: {exc}")
                continue
            ended = loop.time()
            rec.answered(started, ended, ended - started, status)
            if not conn.reusable:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return rec


def closed_loop(
    url: str,
    factory: Factory,
    *,
    connections: int,
    duration: float | None = None,
    requests: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    label: str = "",
) -> dict:
    """``connections`` keep-alive connections back to back, until ``duration`` or
    ``requests`` (whichever comes first)."""
    target = Target.parse(url)
    duration, n = _bounded(duration, requests)
    connections = max(1, min(connections, MAX_CONNECTIONS))
    cpu0 = time.process_time()
    rec = asyncio.run(_closed_loop(target, factory, connections, duration, n, timeout))
    cpu = time.process_time() - cpu0
    return summary(
        rec,
        label=label,
        mode="closed loop (saturation)",
        tool="python asyncio",
        connections=connections,
        client_cpu_s=round(cpu, 2),
    )


# --- closed loop (saturation), wrk --------------------------------------------------------


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


WRK_SCRIPT = """
local templates = {%(templates)s}
local key_header = %(key_header)s
local run_id = %(run_id)s
local limit = %(limit)s
threads = {}
statuses = {}
local counter = 0
local answered = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function request()
  local t = templates[((counter + tid - 1) %% #templates) + 1]
  counter = counter + 1
  local headers = {}
  for _, h in ipairs(t.headers) do headers[h[1]] = h[2] end
  if key_header then headers[key_header] = run_id .. "-" .. tid .. "-" .. counter end
  return wrk.format(t.method, t.path, headers, t.body)
end

function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
  answered = answered + 1
  if limit and answered >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local codes = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses") or {}) do codes[k] = (codes[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(codes) do table.insert(parts, string.format('"%%s":%%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us":%%d,"requests":%%d,"bytes":%%d,' ..
    '"errors":{"connect":%%d,"read":%%d,"write":%%d,"status":%%d,"timeout":%%d},' ..
    '"latency_us":{"min":%%d,"mean":%%.1f,"max":%%d,"p50":%%d,"p95":%%d,"p99":%%d},' ..
    '"status":{%%s}}\\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50.0), latency:percentile(95.0), latency:percentile(99.0),
    table.concat(parts, ",")))
end
"""


def _lua_template(req: Req) -> str:
    headers = ", ".join(f"{{{_lua_string(k)}, {_lua_string(v)}}}" for k, v in req.headers)
    body = _lua_string(req.body.decode()) if req.body else "nil"
    return (
        f"{{method = {_lua_string(req.method)}, path = {_lua_string(req.path)}, "
        f"headers = {{{headers}}}, body = {body}}}"
    )


def wrk_script(templates: list[Req], *, key_header: str | None, limit_per_thread: int | None):
    return WRK_SCRIPT % {
        "templates": ",\n  ".join(_lua_template(t) for t in templates),
        "key_header": _lua_string(key_header) if key_header else "nil",
        "run_id": _lua_string(uuid.uuid4().hex[:12]),
        "limit": str(limit_per_thread) if limit_per_thread else "nil",
    }


def wrk_closed_loop(
    url: str,
    templates: list[Req],
    *,
    connections: int,
    duration: float,
    requests: int | None = None,
    threads: int = 1,
    key_header: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    label: str = "",
) -> dict:
    """wrk with ``connections`` keep-alive connections for ``duration`` s (and, if given,
    stopping each thread after its share of ``requests`` answers). Requests cycle through
    ``templates``; ``key_header`` gets a unique value per request."""
    if not wrk_available():
        raise RuntimeError("wrk is not installed (apt-get install wrk; scripts/setup.sh does)")
    target = Target.parse(url)
    duration, n = _bounded(duration, requests)
    connections = max(1, min(connections, MAX_CONNECTIONS))
    threads = max(1, min(threads, connections))
    limit = math.ceil(n / threads) if requests is not None else None
    script = wrk_script(templates, key_header=key_header, limit_per_thread=limit)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
        script_path = fh.name
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={max(1, round(timeout))}s",
        "-s",
        script_path,
        target.base + templates[0].path,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        proc = subprocess.run(  # noqa: S603 - fixed argv
            argv, capture_output=True, text=True, timeout=duration + 60, check=False
        )
    finally:
        os.unlink(script_path)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    seconds = data["duration_us"] / 1e6
    errs = data["errors"]
    status = dict(sorted(data["status"].items()))
    non_2xx = sum(v for k, v in status.items() if not k.startswith("2"))
    transport = errs["connect"] + errs["read"] + errs["write"] + errs["timeout"]
    lat = data["latency_us"]
    return {
        "label": label,
        "mode": "closed loop (saturation)",
        "tool": "wrk",
        "connections": connections,
        "threads": threads,
        "requests": data["requests"] + transport,
        "answered": data["requests"],
        "seconds": round(seconds, 3),
        "throughput_rps": round(data["requests"] / seconds, 1) if seconds else None,
        "p50_ms": round(lat["p50"] / 1000, 2),
        "p95_ms": round(lat["p95"] / 1000, 2),
        "p99_ms": round(lat["p99"] / 1000, 2),
        "max_ms": round(lat["max"] / 1000, 2),
        "mean_ms": round(lat["mean"] / 1000, 2),
        "status": status,
        "non_2xx": non_2xx,
        "transport_errors": transport,
        "wrk_errors": errs,
        "errors": non_2xx + transport,
        "error_samples": [],
        "client_cpu_s": round(cpu, 2),
    }


def saturate(url: str, templates: list[Req], *, tool: str = "auto", **kwargs) -> dict:
    """Closed loop with wrk when installed (``tool='auto'``), else the Python client."""
    if tool == "wrk" or (tool == "auto" and wrk_available()):
        return wrk_closed_loop(url, templates, **kwargs)
    key_header = kwargs.pop("key_header", None)
    kwargs.pop("threads", None)
    factory = cycle(templates)
    if key_header:
        run_id = uuid.uuid4().hex[:12]
        base = factory

        def factory(i: int) -> Req:
            req = base(i)
            return Req(
                req.method, req.path, (*req.headers, (key_header, f"{run_id}-{i}")), req.body
            )

    return closed_loop(url, factory, **kwargs)


# --- command line -------------------------------------------------------------------------


def measure(session, calls, *, seconds: float) -> dict:
    """Run ``calls`` (functions making one request each with the ``requests.Session``
    ``session``) round-robin for ``seconds``; latency percentiles in ms and the error count."""
    import requests

    latencies, errors, statuses = [], 0, {}
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            status = calls[i % len(calls)](session)
            statuses[status] = statuses.get(status, 0) + 1
            if status >= 500:
                errors += 1
        except requests.RequestException:
            errors += 1
        latencies.append((time.monotonic() - started) * 1000)
        i += 1
    latencies.sort()

    def pct(p):
        return (
            round(latencies[min(len(latencies) - 1, int(len(latencies) * p))], 1)
            if latencies
            else None
        )

    return {
        "requests": len(latencies),
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "errors": errors,
        "statuses": statuses,
    }


def _cli_request(args) -> Req:
    headers = [tuple(h.split(":", 1)) for h in args.header]
    headers = tuple((k.strip(), v.strip()) for k, v in headers)
    body = args.body.encode() if args.body else b""
    if body and not any(k.lower() == "content-type" for k, _ in headers):
        headers += (("Content-Type", "application/json"),)
    path = urlsplit(args.url).path or "/"
    return Req(args.method, path, headers, body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.load", description=__doc__.split("\n\n")[0] + " Loopback only."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("rate", "saturate"):
        p = sub.add_parser(name)
        p.add_argument("url", help="http://127.0.0.1:PORT/path")
        p.add_argument("-X", "--method", default="GET")
        p.add_argument("-H", "--header", action="append", default=[], help="'Name: value'")
        p.add_argument("--body", default="", help="request body (JSON)")
        p.add_argument("-d", "--duration", type=float, default=10.0, help="seconds (default 10)")
        p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S)
        if name == "rate":
            p.add_argument("--rate", type=float, default=100.0, help="requests/s (default 100)")
        else:
            p.add_argument("-c", "--connections", type=int, default=16)
            p.add_argument("-n", "--requests", type=int, default=None, help="stop after this many")
            p.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
            p.add_argument("--key-header", default=None, help="e.g. Idempotency-Key")
    args = parser.parse_args(argv)
    req = _cli_request(args)
    if args.command == "rate":
        result = open_loop(
            args.url, fixed(req), rate=args.rate, duration=args.duration, timeout=args.timeout
        )
    else:
        result = saturate(
            args.url,
            [req],
            tool=args.tool,
            connections=args.connections,
            duration=args.duration,
            requests=args.requests,
            key_header=args.key_header,
            timeout=args.timeout,
        )
    print(json.dumps(result, indent=2))
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
