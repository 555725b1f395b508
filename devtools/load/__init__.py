"""The benchmarks' load generator: a fixed rate (open loop) and saturation (closed loop).

Against ``http://127.0.0.1:PORT`` only (loopback), HTTP/1.1 keep-alive, every loop bounded
in request count and in time. Each run records every request's latency, status code and
transport error, and reports throughput, p50/p95/p99, max, the status codes and the
error count (transport errors, timeouts and non-2xx answers).

- ``devtools.load.client``: the requests a run sends (``Req``, ``Factory``, ``fixed``,
  ``cycle``), the loopback target, the raw HTTP/1.1 keep-alive client and the hard bounds.
- ``devtools.load.loops``: ``open_loop`` (fixed rate, latency from each request's
  scheduled time, so no coordinated omission; Python asyncio over raw sockets: at
  100-1,000 requests/s it uses a few percent of a core, ``client_cpu_s`` says how much),
  ``closed_loop`` (N connections back to back; for when wrk is missing and for small
  bounded runs: warm-ups, exact counts) and ``saturate`` (wrk when installed, else
  ``closed_loop``).
- ``devtools.load.wrk``: the closed loop with Debian's ``wrk``, driven by a generated Lua
  script; at saturation the client must not be the bottleneck on a 2-core machine.
- ``devtools.load.report``: the recorder of a run, nearest-rank percentiles and the
  summary every run returns.
- ``devtools.load.measure``: for a test, plain ``requests`` calls round-robin for some
  seconds, with their latency percentiles and error count.

Command line (for trying things by hand, ``devtools/load/__main__.py``; the benchmarks
import the functions):

    .venv/bin/python -m devtools.load rate http://127.0.0.1:20780/api/rates --rate 100 --duration 10
    .venv/bin/python -m devtools.load saturate http://127.0.0.1:20780/api/rates -c 16 -d 10 --tool wrk
"""
