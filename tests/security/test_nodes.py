"""The node RPCs the engine starts are not open doors: the wallet RPCs and monerod want
their login, monerod's second port is restricted, and every node listens on loopback only."""

from __future__ import annotations

import os
import socket

import pytest
import requests
import yaml
from django.conf import settings
from requests.auth import HTTPDigestAuth

from devtools.regtest_nodes import processes, running_pid
from tests.testenv import ROOT
from wallets.clients.base import NodeUnavailable
from wallets.clients.monero import MoneroClient, get_customer_monero_client, get_monero_client

GET_VERSION = {"jsonrpc": "2.0", "id": "0", "method": "get_version"}
DAEMON_LOGIN = HTTPDigestAuth(settings.MONERO["daemon_user"], settings.MONERO["daemon_password"])


def test_the_wallet_rpcs_refuse_a_caller_without_the_login(regtest):
    for url in (settings.MONERO["wallet_url"], settings.MONERO["customer_wallet_url"]):
        anonymous = requests.post(f"{url}/json_rpc", json=GET_VERSION, timeout=10)
        assert anonymous.status_code == 401, url
        wrong = requests.post(
            f"{url}/json_rpc",
            json=GET_VERSION,
            auth=HTTPDigestAuth(settings.MONERO["wallet_user"], "not-it"),
            timeout=10,
        )
        assert wrong.status_code == 401, url
    # The engine's clients log in.
    assert get_monero_client().wallet_version(timeout=5)
    assert get_customer_monero_client().wallet_version(timeout=5)


def _monerod_pid() -> int:
    pid = running_pid(next(p for p in processes() if p.name == "monerod"))
    assert pid is not None
    return pid


def test_monerod_refuses_stop_daemon_on_the_engine_port_without_the_login(regtest):
    url = settings.MONERO["daemon_url"]
    pid = _monerod_pid()

    anonymous = requests.post(f"{url}/stop_daemon", json={}, timeout=10)
    wrong = requests.post(
        f"{url}/stop_daemon",
        json={},
        auth=HTTPDigestAuth(settings.MONERO["daemon_user"], "not-it"),
        timeout=10,
    )
    mine = requests.post(
        f"{url}/json_rpc",
        json={"jsonrpc": "2.0", "id": "0", "method": "generateblocks", "params": {}},
        timeout=10,
    )

    assert (anonymous.status_code, wrong.status_code, mine.status_code) == (401, 401, 401)
    # Still running and answering the engine, which logs in.
    assert running_pid(next(p for p in processes() if p.name == "monerod")) == pid
    assert get_monero_client().daemon_info(timeout=5)["status"] == "OK"


def test_monerod_s_second_port_is_restricted_even_with_the_login(regtest):
    url = settings.MONERO["daemon_restricted_url"]
    pid = _monerod_pid()

    stop = requests.post(f"{url}/stop_daemon", json={}, auth=DAEMON_LOGIN, timeout=10)
    mine = requests.post(
        f"{url}/json_rpc",
        json={
            "jsonrpc": "2.0",
            "id": "0",
            "method": "generateblocks",
            "params": {
                "amount_of_blocks": 1,
                "wallet_address": get_monero_client().primary_address(),
            },
        },
        auth=DAEMON_LOGIN,
        timeout=10,
    )
    info = requests.post(
        f"{url}/json_rpc",
        json={"jsonrpc": "2.0", "id": "0", "method": "get_info"},
        auth=DAEMON_LOGIN,
        timeout=10,
    )
    anonymous = requests.post(
        f"{url}/json_rpc", json={"jsonrpc": "2.0", "id": "0", "method": "get_info"}, timeout=10
    )

    assert stop.status_code == 404  # not served there at all
    assert mine.json()["error"]["code"] == -32601  # "Method not found"
    assert info.json()["result"]["status"] == "OK"  # view-only calls are
    assert info.json()["result"]["restricted"] is True
    assert anonymous.status_code == 401
    assert running_pid(next(p for p in processes() if p.name == "monerod")) == pid


def test_the_engine_s_daemon_client_logs_in_and_one_without_the_login_is_refused(regtest):
    engine = get_monero_client()
    assert engine.daemon_info(timeout=5)["status"] == "OK"
    assert engine.tx_status("00" * 32, []).state == "absent"  # the plain endpoints too

    stranger = MoneroClient(
        daemon_url=engine.daemon_url,
        wallet_url=engine.wallet_url,
        wallet_file="x",
        connect_timeout=1,
        read_timeout=5,
        transfer_read_timeout=5,
    )
    with pytest.raises(NodeUnavailable, match="refused the credentials"):
        stranger.daemon_info()
    with pytest.raises(NodeUnavailable, match="refused the credentials"):
        stranger.tx_status("00" * 32, [])


def _listening_sockets() -> dict[int, tuple[str, int]]:
    """Every listening TCP socket on the machine: inode -> (address, port)."""
    found = {}
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        with open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                local, state, inode = fields[1], fields[3], int(fields[9])
                if state != "0A":  # LISTEN
                    continue
                address, port_hex = local.split(":")
                raw = bytes.fromhex(address)
                if family == socket.AF_INET:
                    raw = raw[::-1]
                else:
                    raw = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                found[inode] = (socket.inet_ntop(family, raw), int(port_hex, 16))
    return found


def _listening_of(pid: int) -> set[tuple[str, int]]:
    """The (address, port) pairs the process ``pid`` listens on."""
    listening = _listening_sockets()
    mine = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inode = int(target[len("socket:[") : -1])
            if inode in listening:
                mine.add(listening[inode])
    return mine


def test_every_node_of_the_stack_listens_on_loopback_only(regtest):
    loopback = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
    for proc in processes():
        pid = running_pid(proc)
        assert pid is not None, proc.name
        sockets = _listening_of(pid)
        assert proc.port in {port for _, port in sockets}, (proc.name, sockets)
        assert {address for address, _ in sockets} <= loopback, (proc.name, sockets)
    # monerod: the engine's port and the restricted one; no ZMQ RPC, no p2p.
    ports = {port for _, port in _listening_of(_monerod_pid())}
    restricted = int(settings.MONERO["daemon_restricted_url"].rsplit(":", 1)[1])
    assert ports == {next(p.port for p in processes() if p.name == "monerod"), restricted}


def test_compose_keeps_the_nodes_on_an_internal_network_behind_their_logins():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())
    services, networks = compose["services"], compose["networks"]
    nodes = {"bcoin", "monerod", "monero-wallet-rpc"}

    assert networks["nodes"]["internal"] is True
    for name in nodes:
        assert "ports" not in services[name], name
        assert "expose" not in services[name], name
        assert "nodes" in services[name]["networks"], name
        for network in set(services[name]["networks"]) - {"nodes"}:
            members = {n for n, s in services.items() if network in s.get("networks", [])}
            assert members == {name}, (name, network, members)  # its peers' network only
    for name, service in services.items():
        for published in service.get("ports", []):
            assert published.startswith("127.0.0.1:"), (name, published)
    # What calls customers' URLs, and Flower, cannot reach a node at all.
    assert "nodes" not in services["webhooks"]["networks"]
    assert "nodes" not in services["flower"]["networks"]
    monerod = services["monerod"]["command"].split()
    assert "--rpc-login=${MONERO_DAEMON_USER}:${MONERO_DAEMON_PASSWORD}" in monerod
    assert "--no-zmq" in monerod
    # Its network's flags come from docker/node-command.sh (--offline on regtest:
    # tests/exchange/test_compose_networks.py).
    assert monerod[:2] == ["node-command", "monerod"]
    wallet = services["monero-wallet-rpc"]["command"].split()
    assert "--daemon-login=${MONERO_DAEMON_USER}:${MONERO_DAEMON_PASSWORD}" in wallet
    assert "--rpc-login=${MONERO_WALLET_USER}:${MONERO_WALLET_PASSWORD}" in wallet
    assert any(a.startswith("--api-key=") for a in services["bcoin"]["command"])
