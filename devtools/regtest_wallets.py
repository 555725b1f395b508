"""The regtest stack's wallets: their clients, and mining until each can spend.

``fund_bitcoin`` and ``fund_monero`` mine until the master and the customer wallet both
hold at least ``MIN_SPENDABLE`` they can spend (bitcoin coinbase outputs mature after
``BTC_COINBASE_MATURITY`` blocks; monero needs ``XMR_BLOCKS_BEFORE_SPEND`` blocks before
a wallet can spend at all), and say how many blocks they mined. Before funding, bitcoin's
chain is mined until segwit is active: bcoin's regtest deploys it by version bits
(BIP 9: signalled in one 144-block window, locked in the next, active from block 432),
and until then the native segwit deposit accounts' coins cannot be spent.
"""

from __future__ import annotations

import contextlib

from django.conf import settings

from devtools.processes import wait_until
from devtools.regtest_nodes import RegtestError
from wallets.clients.bitcoin import BitcoinClient, get_bitcoin_client
from wallets.clients.monero import MoneroClient, get_customer_monero_client, get_monero_client

# Mined until each wallet can spend at least this much (whole coins).
MIN_SPENDABLE = {"bitcoin": 20 * 10**8, "monero": 20 * 10**12}
BTC_COINBASE_MATURITY = 100
# bcoin's regtest: segwit's BIP 9 windows are 144 blocks, so it is active from block 432.
SEGWIT_ACTIVE_HEIGHT = 432
XMR_BLOCKS_BEFORE_SPEND = 80  # 75 measured (node-facts.md 3.2) plus a margin


def bitcoin_client() -> BitcoinClient:
    return get_bitcoin_client()


def monero_client() -> MoneroClient:
    return get_monero_client()


def customer_monero_client() -> MoneroClient:
    return get_customer_monero_client()


def _btc_spendable(btc: BitcoinClient, wallet_id: str, tip: int) -> int:
    coins = btc._wallet("GET", "/coin", wallet_id=wallet_id, method="coins")
    total = 0
    for coin in coins:
        height = int(coin.get("height", -1))
        immature = height < 0 or tip - height + 1 < BTC_COINBASE_MATURITY
        if coin.get("coinbase") and immature:
            continue
        total += int(coin["value"])
    return total


def segwit_activate(btc: BitcoinClient) -> int:
    """Mine (to the master wallet) until segwit is active; returns the blocks mined."""
    master = settings.BITCOIN["wallet_id"]
    mined = 0
    for _ in range(6):
        forks = btc.node_rpc("getblockchaininfo").get("bip9_softforks") or {}
        if (forks.get("segwit") or {}).get("status", "active") == "active":
            return mined
        blocks = max(1, SEGWIT_ACTIVE_HEIGHT - btc.height())
        btc.mine(blocks, btc.new_address(wallet_id=master))
        mined += blocks
    raise RegtestError("segwit is still not active on the bitcoin regtest chain")


def fund_bitcoin(btc: BitcoinClient) -> int:
    master, customer = settings.BITCOIN["wallet_id"], settings.BITCOIN["customer_wallet_id"]
    mined = segwit_activate(btc)

    def lacking() -> list[str]:
        tip = btc.height()
        return [
            w for w in (master, customer) if _btc_spendable(btc, w, tip) < MIN_SPENDABLE["bitcoin"]
        ]

    for _ in range(3):
        short = lacking()
        if not short:
            return mined
        for wallet_id in short:
            btc.mine(2, btc.new_address(wallet_id=wallet_id))
            mined += 2
        btc.mine(BTC_COINBASE_MATURITY, btc.new_address(wallet_id=master))
        mined += BTC_COINBASE_MATURITY
        # bcoin's wallets index a block after its node connects it: after hundreds of
        # blocks mined at once, a while after.
        with contextlib.suppress(AssertionError):
            wait_until(lambda: not lacking(), timeout=60, interval=0.5, what="spendable coins")
    raise RegtestError("bitcoin wallets still cannot spend after mining")


def fund_monero(xmr: MoneroClient, customer: MoneroClient) -> int:
    mined = 0
    for _ in range(3):
        xmr.refresh()
        customer.refresh()
        lacking = [
            c
            for c in (xmr, customer)
            if int(c.balance(0).get("unlocked_balance", 0)) < MIN_SPENDABLE["monero"]
        ]
        height = xmr.height()
        if not lacking and height >= XMR_BLOCKS_BEFORE_SPEND:
            return mined
        for client in lacking:
            # Many coinbase outputs: each payment in a test locks one for 10 blocks.
            mined += 20
            xmr.mine(20, client.primary_address())
        to_mine = max(XMR_BLOCKS_BEFORE_SPEND - xmr.height(), 61)
        xmr.mine(to_mine, xmr.primary_address())
        mined += to_mine
    raise RegtestError("monero wallets still cannot spend after mining")
