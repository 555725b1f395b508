"""The operator's compose file runs the network its variables name: each node's command
as docker/node-command.sh renders it from docker/compose.yml, for every network (no
container runs here: the file and the script are what is checked)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess

import pytest
import yaml

from tests.testenv import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())
SCRIPT = ROOT / "docker" / "node-command.sh"
REGTEST_ONLY = {"--regtest", "--offline", "--keep-fakechain", "--fixed-difficulty"}


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${NAME}`` and ``${NAME:-default}``."""
    return re.sub(
        r"\$\{(\w+)(?::-([^}]*))?\}",
        lambda m: env.get(m.group(1)) or (m.group(2) or ""),
        value,
    )


def rendered(service: str, **network: str) -> list[str]:
    """The command the service's container runs with ``network`` in .env."""
    spec = COMPOSE["services"][service]
    env = {name: _interpolate(str(v), network) for name, v in spec["environment"].items()}
    command = spec["command"]
    if isinstance(command, list):  # arguments to the image's entrypoint, node-command bcoin
        argv = ["bcoin", *(_interpolate(a, network) for a in command)]
    else:
        words = shlex.split(_interpolate(command, network))
        assert words[0] == "node-command", service
        argv = words[1:]
    answer = subprocess.run(
        ["sh", str(SCRIPT), *argv],
        env={"PATH": os.environ["PATH"], **env, "NODE_COMMAND_PRINT": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return answer.stdout.split()


def test_monero_runs_its_regtest_flags_on_regtest_only():
    regtest = rendered("monerod")
    assert set(regtest) >= REGTEST_ONLY
    assert regtest[regtest.index("--fixed-difficulty") + 1] == "1"
    assert "--testnet" not in rendered("monero-wallet-rpc")
    for network, flag in (("testnet", "--testnet"), ("mainnet", None)):
        daemon = rendered("monerod", MONERO_NETWORK=network)
        wallet = rendered("monero-wallet-rpc", MONERO_NETWORK=network)
        assert not REGTEST_ONLY & set(daemon), network
        for argv in (daemon, wallet):
            assert ({flag} if flag else set()) == {"--testnet"} & set(argv), network
        assert "--data-dir=/home/monero/data" in daemon
        assert "--wallet-dir=/home/monero/wallets" in wallet


@pytest.mark.parametrize(
    ("network", "bcoin_network", "wallets"),
    [
        ("regtest", "regtest", "/data/regtest"),
        ("testnet", "testnet", "/data/testnet"),
        ("mainnet", "main", "/data"),
    ],
)
def test_bcoin_runs_the_bitcoin_network_with_its_data_paths(network, bcoin_network, wallets):
    argv = rendered("bcoin", BITCOIN_NETWORK=network)

    assert argv[:2] == ["node", "/bcoin/node_modules/bcoin/bin/node"]
    assert f"--network={bcoin_network}" in argv
    assert "--prefix=/data" in argv
    assert f"--wallet-prefix={wallets}" in argv


def test_the_nodes_that_need_peers_can_reach_them_and_the_wallet_cannot():
    for name, peers in (("bcoin", "p2p"), ("monerod", "monero-p2p")):
        assert set(COMPOSE["services"][name]["networks"]) == {"nodes", peers}, name
    assert COMPOSE["services"]["monero-wallet-rpc"]["networks"] == ["nodes"]
    assert COMPOSE["networks"]["nodes"]["internal"] is True


def test_an_unknown_network_is_refused_naming_it():
    answer = subprocess.run(
        ["sh", str(SCRIPT), "monerod"],
        env={"PATH": os.environ["PATH"], "MONERO_NETWORK": "moonnet", "NODE_COMMAND_PRINT": "1"},
        capture_output=True,
        text=True,
    )
    assert answer.returncode == 2
    assert "moonnet" in answer.stderr
