"""The closed loop (saturation) with Debian's ``wrk`` (C, epoll).

``wrk_closed_loop`` drives wrk with a generated Lua script (method, path, body per
request, cycling through templates; a unique Idempotency-Key per request; status codes
counted; latency percentiles printed by ``done()``) and reads its figures back. At
saturation the client must not be the bottleneck on a 2-core machine: wrk spends about a
third of the CPU per request that the Python client does (both report their CPU time).
Fixed-rate runs with wrk would need wrk2, which Debian lacks.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import subprocess
import tempfile
import uuid

from devtools.load.client import DEFAULT_TIMEOUT_S, MAX_CONNECTIONS, Req, Target, bounded


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
    duration, n = bounded(duration, requests)
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
