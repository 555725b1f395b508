"""Node errors arrive as typed exceptions, against the real nodes."""

import os
import signal

import pytest
from django.conf import settings

from devtools.regtest_nodes import processes, running_pid
from wallets.clients.base import (
    InsufficientFunds,
    InvalidAddress,
    NodeRejected,
    NodeUnavailable,
    NotFound,
    RetryLater,
    UnknownAccount,
    node_calls,
)
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import MoneroClient, get_monero_client

MAINNET_BTC = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"


def test_transient_and_definitive_errors_are_separate_families():
    assert issubclass(NodeUnavailable, RetryLater)
    assert not issubclass(InvalidAddress, RetryLater)
    assert issubclass(InvalidAddress, NodeRejected)


def test_bcoin_refusals_are_typed(regtest):
    btc = get_bitcoin_client()

    with pytest.raises(InvalidAddress):
        btc.create_tx(account="default", outputs=[(MAINNET_BTC, 100_000)], subtract_fee=False)
    with pytest.raises(InsufficientFunds):
        btc.create_tx(
            account="default", outputs=[(btc.new_address(), 2 * 10**15)], subtract_fee=False
        )
    with pytest.raises(UnknownAccount):
        btc.balance(account="no-such-account")
    assert btc.wallet_tx("00" * 32) is None


def test_monero_refusals_are_typed(regtest):
    xmr = get_monero_client()

    with pytest.raises(InvalidAddress):
        xmr.create_transfer(account_index=0, destinations=[("hello", 1)])
    with pytest.raises(InsufficientFunds):
        xmr.create_transfer(account_index=0, destinations=[(xmr.primary_address(0), 10**19)])
    with pytest.raises(UnknownAccount):
        xmr.primary_address(99_999)
    assert xmr.transfer_by_txid("00" * 32) is None


def test_an_unreachable_node_is_transient_and_every_call_is_counted(regtest):
    closed = MoneroClient(
        daemon_url="http://127.0.0.1:9",
        wallet_url="http://127.0.0.1:9",
        wallet_file="x",
        connect_timeout=0.5,
        read_timeout=0.5,
        transfer_read_timeout=0.5,
    )
    before = node_calls("monero")

    with pytest.raises(NodeUnavailable):
        closed.daemon_info()

    assert node_calls("monero") == before + 1


def test_a_frozen_node_times_out_as_transient(regtest):
    pid = running_pid(next(p for p in processes() if p.name == "monerod"))
    frozen = MoneroClient(
        daemon_url=get_monero_client().daemon_url,
        wallet_url="http://127.0.0.1:9",
        wallet_file="x",
        connect_timeout=0.5,
        read_timeout=0.5,
        transfer_read_timeout=0.5,
    )
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(NodeUnavailable):
            frozen.daemon_info()
    finally:
        os.kill(pid, signal.SIGCONT)


def test_a_missing_wallet_file_is_not_found(regtest):
    ghost = MoneroClient(
        daemon_url=get_monero_client().daemon_url,
        wallet_url=get_monero_client().wallet_url,
        wallet_file="does-not-exist",
        connect_timeout=1,
        read_timeout=5,
        transfer_read_timeout=5,
        wallet_user=settings.MONERO["wallet_user"],
        wallet_password=settings.MONERO["wallet_password"],
    )
    with pytest.raises(NotFound):
        ghost.open_wallet()
    get_monero_client().open_wallet()
