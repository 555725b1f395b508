"""The node RPCs the engine starts are not open doors: the wallet RPCs want their login,
and every node listens on loopback only."""

from __future__ import annotations

import socket

import requests
from django.conf import settings

from wallets.clients.monero import get_customer_monero_client, get_monero_client
from wallets.regtest import processes

GET_VERSION = {"jsonrpc": "2.0", "id": "0", "method": "get_version"}


def test_the_wallet_rpcs_refuse_a_caller_without_the_login(regtest):
    for url in (settings.MONERO["wallet_url"], settings.MONERO["customer_wallet_url"]):
        anonymous = requests.post(f"{url}/json_rpc", json=GET_VERSION, timeout=10)
        assert anonymous.status_code == 401, url
        wrong = requests.post(
            f"{url}/json_rpc",
            json=GET_VERSION,
            auth=requests.auth.HTTPDigestAuth(settings.MONERO["wallet_user"], "not-it"),
            timeout=10,
        )
        assert wrong.status_code == 401, url
    # The engine's clients log in.
    assert get_monero_client().wallet_version(timeout=5)
    assert get_customer_monero_client().wallet_version(timeout=5)


def _listening_addresses(port: int) -> set[str]:
    """The local addresses listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        with open(table) as rows:
            next(rows)
            for row in rows:
                local, state = row.split()[1], row.split()[3]
                address, port_hex = local.split(":")
                if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                    continue
                raw = bytes.fromhex(address)
                if family == socket.AF_INET:
                    raw = raw[::-1]
                else:
                    raw = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                found.add(socket.inet_ntop(family, raw))
    return found


def test_every_node_of_the_stack_listens_on_loopback_only(regtest):
    for proc in processes():
        addresses = _listening_addresses(proc.port)
        assert addresses, f"{proc.name} does not listen on {proc.port}"
        assert addresses <= {"127.0.0.1", "::1", "::ffff:127.0.0.1"}, (proc.name, addresses)
