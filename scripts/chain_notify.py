#!/usr/bin/env python3
"""Push a node notification into Redis for the chain listener.

monerod runs ``--block-notify`` and monero-wallet-rpc runs ``--tx-notify`` with this
script: ``chain_notify.py REDIS_URL KEY EVENT ARG``. It appends ``EVENT ARG`` to the
Redis list KEY (capped) and exits. Standard library only, so it starts in milliseconds;
a failure is printed and ignored (the scheduled scan is the safety net).
"""

import socket
import sys
from urllib.parse import unquote, urlsplit


def _command(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(f"${len(data)}\r\n".encode() + data + b"\r\n")
    return b"".join(out)


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print("usage: chain_notify.py REDIS_URL KEY EVENT ARG", file=sys.stderr)
        return 2
    url, key, event, arg = argv[1:]
    parts = urlsplit(url)
    db = (parts.path or "/0").strip("/") or "0"
    commands = []
    if parts.password:
        if parts.username:
            commands.append(_command("AUTH", unquote(parts.username), unquote(parts.password)))
        else:
            commands.append(_command("AUTH", unquote(parts.password)))
    commands += [
        _command("SELECT", db),
        _command("RPUSH", key, f"{event} {arg}"),
        _command("LTRIM", key, "-1000", "-1"),
    ]
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=2
        ) as s:
            s.sendall(b"".join(commands))
            reply = b""
            while reply.count(b"\r\n") < len(commands):
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
    except OSError as exc:
        print(f"chain_notify: {exc}", file=sys.stderr)
        return 1
    if b"-ERR" in reply or b"-NOAUTH" in reply or b"-WRONGPASS" in reply:
        print(f"chain_notify: redis said {reply!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
