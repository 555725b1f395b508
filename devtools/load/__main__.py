"""The load generator's command line, for trying things by hand.

    .venv/bin/python -m devtools.load rate http://127.0.0.1:20780/api/rates --rate 100 --duration 10
    .venv/bin/python -m devtools.load saturate http://127.0.0.1:20780/api/rates -c 16 -d 10 --tool wrk

It prints the run's summary as JSON and exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from urllib.parse import urlsplit

import devtools.load
from devtools.load.client import DEFAULT_TIMEOUT_S, Req, fixed
from devtools.load.loops import open_loop, saturate


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
        prog="python -m devtools.load",
        description=devtools.load.__doc__.split("\n\n")[0] + " Loopback only.",
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
