"""The load runs: a fixed rate (open loop) and saturation (closed loop).

- ``open_loop``: requests are *scheduled* at a fixed rate (request i at start + i/rate),
  whatever the server does, on a pool of keep-alive connections (a new one opens when
  every open one is busy, up to ``max_connections``; one idle for over a second is not
  reused, as gunicorn may be closing it). Latency runs from the scheduled time, so a slow
  server or a late client shows up in the figures instead of lowering the rate (no
  coordinated omission).
- ``closed_loop``: N connections, each sending its next request as soon as the previous
  answer is in, for a duration and/or a request count.
- ``saturate``: the closed loop with wrk (``devtools.load.wrk``) when it is installed,
  else with ``closed_loop``.

Both loops are Python asyncio over the raw client of ``devtools.load.client``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid

from devtools.load.client import (
    DEFAULT_TIMEOUT_S,
    MAX_CONNECTIONS,
    MAX_REQUESTS,
    Conn,
    Factory,
    Req,
    Target,
    bounded,
    cycle,
    encode,
)
from devtools.load.report import Recorder, ms, summary
from devtools.load.wrk import wrk_available, wrk_closed_loop

# A keep-alive connection idle longer than this is not reused: gunicorn closes idle
# connections after 2 s (--keep-alive), and a request sent as it does so would fail.
IDLE_REUSE_S = 1.0


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
    duration, _ = bounded(duration, None)
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
        client_behind_schedule_max_ms=ms(behind),
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
    duration, n = bounded(duration, requests)
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


# --- saturation: wrk when installed, else the Python closed loop --------------------------


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
