import os
import signal

from django.conf import settings

from devtools.processes import wait_until
from devtools.regtest import regtest_mine, regtest_pay, regtest_status, regtest_up
from devtools.regtest_nodes import processes, running_pid
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import get_monero_client

QUIET = {"echo": lambda *_: None}


def test_each_node_answers(regtest):
    status = regtest_status()

    assert all(p["running"] for p in status["processes"].values())
    assert status["bitcoin"]["height"] >= 101
    assert status["monero"]["height"] >= 75


def test_up_twice_is_a_no_op(regtest):
    result = regtest_up(**QUIET)

    assert result == {"started": [], "mined": {"bitcoin": 0, "monero": 0}}


def test_up_after_a_crash_replaces_the_stale_pid_file(regtest):
    bcoin = next(p for p in processes() if p.name == "bcoin")
    os.killpg(running_pid(bcoin), signal.SIGKILL)
    wait_until(lambda: running_pid(bcoin) is None, timeout=10, what="bcoin to die")

    result = regtest_up(**QUIET)

    assert result["started"] == ["bcoin"]
    assert get_bitcoin_client().height() >= 101


def test_a_customer_bitcoin_payment_to_a_fresh_master_address_confirms(regtest):
    btc = get_bitcoin_client()
    address = btc.new_address(wallet_id=settings.BITCOIN["wallet_id"])

    txid = regtest_pay(chain="bitcoin", address=address, amount=12_345_678)

    seen = wait_until(lambda: btc.wallet_tx(txid), timeout=10, what="the tx in the master wallet")
    assert seen["confirmations"] == 0
    received = sum(o["value"] for o in seen["outputs"] if o["address"] == address)
    assert received == 12_345_678
    regtest_mine(chain="bitcoin", blocks=1)
    wait_until(
        lambda: btc.wallet_tx(txid)["confirmations"] == 1, timeout=10, what="one confirmation"
    )


def test_a_customer_monero_payment_to_a_fresh_master_address_confirms(regtest):
    xmr = get_monero_client()
    index, address = xmr.create_account("smoke-test")

    txid = regtest_pay(chain="monero", address=address, amount=1_230_000_000_000)

    def incoming(kind):
        xmr.refresh()
        found = xmr.transfers().get(kind, [])
        return [t for t in found if t["txid"] == txid and t["subaddr_index"]["major"] == index]

    pool = wait_until(lambda: incoming("pool"), timeout=20, what="the tx in the pool")
    assert pool[0]["amount"] == 1_230_000_000_000
    regtest_mine(chain="monero", blocks=1)
    confirmed = wait_until(lambda: incoming("in"), timeout=20, what="the tx in a block")
    assert confirmed[0]["confirmations"] == 1
    assert confirmed[0]["amount"] == 1_230_000_000_000
