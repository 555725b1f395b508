"""Bitcoin on bcoin: a wallet per master wallet, one bcoin account per deposit account.

Deposits are read by ``wallets.chains.bitcoin_scan`` (3 calls a scan). Balances: the
wallet's coins (``GET /wallet/{id}/coin``), each named by its address: a deposit account's
from the books, any other (change) by one batched ``getaccount`` call: 1 or 2 calls.
Payouts subtract their fee from the amount, so a payout spends exactly its amount; a fee
bump is a child paying for its parent (``wallets.chains.bitcoin_bump``).
Addresses are base58check and bech32/bech32m, parsed with embit and mapped to networks with
bcoin's parameters (bcoin's regtest uses 0x3c/0x26 and ``rb``, not Bitcoin Core's ``bcrt``).
"""

from __future__ import annotations

import functools
import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone
from embit import base58, bech32

from wallets.addresses import AddressCheck, address_check
from wallets.chains import bitcoin_bump, bitcoin_scan
from wallets.chains.base import (
    BuiltBump,
    BuiltPayout,
    ChainAdapter,
    ChainRead,
    RestoreRefused,
    TxStatus,
)
from wallets.chains.bitcoin_bump import vsize
from wallets.chains.registry import Coin
from wallets.clients.base import (
    AccountExists,
    NodeError,
    RetryLater,
    UnknownAccount,
)
from wallets.clients.bitcoin import BitcoinClient

if TYPE_CHECKING:
    from wallets.models import MasterWallet, Payout, WalletAccount

logger = logging.getLogger(__name__)

# bcoin 1.0.2 lib/protocol/networks.js
BASE58_VERSIONS = {
    0x00: ("mainnet", "p2pkh"),
    0x05: ("mainnet", "p2sh"),
    0x6F: ("testnet", "p2pkh"),
    0xC4: ("testnet", "p2sh"),
    0x3C: ("regtest", "p2pkh"),
    0x26: ("regtest", "p2sh"),
}
BECH32_PREFIXES = {"bc": "mainnet", "tb": "testnet", "rb": "regtest"}
# The witness programs with a defined meaning (BIP 141, BIP 341): (version, length).
WITNESS_TYPES = {(0, 20): "p2wpkh", (0, 32): "p2wsh", (1, 32): "p2tr"}
# Address types a wallet gives that this engine's node cannot pay, and what to give instead.
UNPAYABLE_TYPES = {
    "p2tr": "a taproot address (…1p…): this engine's bitcoin node cannot pay one yet; give a"
    " native segwit (…1q…) or a legacy address of your wallet",
}
# A node this close to the present (bcoin's chain progress) is synced: on mainnet its tip
# is at most about 15 hours old.
SYNCED_PROGRESS = 0.9999
# A restored wallet reads the chain again from its restore height: this long at most.
RESCAN_WAIT_SECONDS = 6 * 3600
# The accounts a restore makes past the backup's last (wallets.chains.base.wallet_restore).
GAP_ACCOUNT_PREFIX = "restore-gap-"


def _confirmed(history: list[dict]) -> list[dict]:
    return [tx for tx in history if int(tx.get("height", -1)) >= 0]


def _wallet_height(history: list[dict]) -> int:
    """The height a wallet has read up to, from its own history (0: it holds nothing)."""
    return max(
        (int(tx["height"]) + int(tx["confirmations"]) - 1 for tx in _confirmed(history)),
        default=0,
    )


def parse_address(address: str) -> AddressCheck:
    """The network and type of a bitcoin address (no node call)."""
    lowered = address.lower()
    hrp = lowered.rsplit("1", 1)[0] if "1" in lowered else ""
    if hrp in BECH32_PREFIXES:
        if address != lowered and address != address.upper():
            return AddressCheck(False, error="mixed-case bech32 address")
        version, program = bech32.decode(hrp, lowered)
        if version is None:
            return AddressCheck(False, error="bad bech32 checksum or encoding")
        kind = WITNESS_TYPES.get((version, len(program)))
        if kind is None:
            # Outputs of undefined witness versions or lengths are spendable by anyone.
            return AddressCheck(
                False,
                network=BECH32_PREFIXES[hrp],
                error=f"witness version {version} with a {len(program)}-byte program is not"
                " a defined address type",
            )
        return AddressCheck(True, network=BECH32_PREFIXES[hrp], type=kind)
    try:
        raw = base58.decode_check(address)
    except Exception:  # noqa: BLE001 - embit raises several kinds for bad input
        return AddressCheck(False, error="not a bitcoin address (bad base58 or checksum)")
    if len(raw) != 21 or raw[0] not in BASE58_VERSIONS:
        return AddressCheck(False, error="not a bitcoin address (unknown version byte)")
    network, kind = BASE58_VERSIONS[raw[0]]
    return AddressCheck(True, network=network, type=kind)


@functools.cache
def _client(endpoint: str, wallet_id: str) -> BitcoinClient:
    conf = getattr(settings, endpoint)
    return BitcoinClient(
        node_url=conf["node_url"],
        wallet_url=conf["wallet_url"],
        api_key=conf["api_key"],
        wallet_id=wallet_id,
        connect_timeout=settings.NODE_CONNECT_TIMEOUT,
        read_timeout=settings.NODE_READ_TIMEOUT,
    )


class BitcoinChain:
    account_key = "node_name"
    labels_accounts = False
    balance_counts_mempool = True

    def __init__(self, coin: Coin):
        self.coin = coin

    def client(self, wallet: MasterWallet) -> BitcoinClient:
        return _client(wallet.endpoint, wallet.name)

    def wallet_defaults(self) -> dict[str, str]:
        conf = self.coin.conf
        return {
            "name": conf["wallet_id"],
            "network": conf["network"],
            "endpoint": self.coin.settings_block,
        }

    def _default_client(self) -> BitcoinClient:
        return _client(self.coin.settings_block, self.coin.conf["wallet_id"])

    def node_status(self, *, timeout: float) -> dict[str, Any]:
        try:
            info = self._default_client().node_info(timeout=timeout)
        except NodeError as exc:
            return {"reachable": False, "error": str(exc)}
        height = int(info["chain"]["height"])
        # bcoin's progress is how close the tip's time is to now (1.0 within 40 minutes);
        # a regtest chain has nothing to catch up with, however old its last block.
        progress = float(info["chain"].get("progress") or 0)
        synced = self.coin.network == "regtest" or progress >= SYNCED_PROGRESS
        return {
            "reachable": True,
            "height": height,
            "headers": height,
            "progress": progress,
            "synced": synced,
        }

    def validate_address(self, address: str) -> AddressCheck:
        """An address of the configured network that this node can pay: every type but
        taproot, which bcoin 1.0.2 cannot send to (it decodes bech32 only, not bech32m)."""
        check = address_check(
            address, parse=parse_address, chain=self.coin.chain, configured=self.coin.network
        )
        if check.valid and check.type in UNPAYABLE_TYPES:
            return AddressCheck(
                False, network=check.network, type=check.type, error=UNPAYABLE_TYPES[check.type]
            )
        return check

    # --- deposits -------------------------------------------------------------------

    def deposits_read(
        self, wallet: MasterWallet, window: int, *, final: int, since: datetime | None = None
    ) -> ChainRead:
        """``wallets.chains.bitcoin_scan.deposits_read``."""
        return bitcoin_scan.deposits_read(
            self.client(wallet), wallet, window, final=final, since=since
        )

    def balances(self, wallet: MasterWallet, *, refresh: bool = False) -> dict:
        from wallets.models import WalletAccount

        client = self.client(wallet)
        coins = client.coins()
        addresses = {coin["address"] for coin in coins}
        # A deposit account's address is in the books; change and anything else the wallet
        # holds is named by the node (one more call, only when there is any).
        named = dict(
            WalletAccount.objects.filter(master_wallet=wallet, address__in=addresses).values_list(
                "address", "node_name"
            )
        )
        named.update(client.address_accounts(sorted(a for a in addresses - named.keys() if a)))
        totals: dict[str, list[int]] = {}
        for coin in coins:
            total = totals.setdefault(named.get(coin["address"], ""), [0, 0])
            total[0] += coin["value"]
            if coin["confirmed"]:
                total[1] += coin["value"]
        return {key: (t[0], t[1]) for key, t in totals.items()}

    # --- accounts -------------------------------------------------------------------

    def house_account(self, wallet: MasterWallet) -> tuple[int, str]:
        """The wallet's ``default`` account; a master wallet the node does not hold yet is
        made here, as a native segwit wallet (its house account pays P2WPKH)."""
        client = self.client(wallet)
        client.ensure_wallet(wallet.name, witness=True)
        return client.get_account("default")

    def account_create(self, wallet: MasterWallet, name: str) -> tuple[int, str]:
        client = self.client(wallet)
        try:
            return client.create_account(name)
        except AccountExists:
            return client.get_account(name)

    def accounts_named(self, wallet: MasterWallet) -> dict[str, tuple[int, str]]:
        return {}

    def accounts_saved(self, wallet: MasterWallet) -> None:
        """bcoin writes each account to its database as it makes it."""

    def account_label(self, account: WalletAccount) -> None:
        """bcoin cannot rename an account: the map lives in the database and Redis."""

    # --- backup and restore ---------------------------------------------------------

    def wallet_backup(self, wallet: MasterWallet) -> dict[str, Any]:
        """The mnemonic (and master key), every account with its witness flag and the
        addresses it has handed out, and the height of the wallet's first transaction."""
        client = self.client(wallet)
        confirmed = _confirmed(client.history())
        return {
            **client.master_secret(),
            "accounts": client.accounts_detail(),
            "restore_height": min((int(tx["height"]) for tx in confirmed), default=client.height()),
            "confirmed_transactions": len(confirmed),
        }

    def wallet_restore(self, wallet: MasterWallet, saved: dict[str, Any], *, gap: int) -> None:
        """bcoin makes its ``primary`` wallet itself, with a fresh seed, when its wallet
        database is new: a master wallet is restored under another name. Accounts are
        created again in index order with the same witness flag (bcoin derives an
        account's keys from its index), each handing out as many addresses as it had,
        then ``gap`` accounts named ``restore-gap-{index}``; then the node's wallets read
        the chain again from the restore height."""
        if wallet.name == "primary":
            raise RestoreRefused(
                "bcoin makes its primary wallet itself with a fresh seed: set BITCOIN_WALLET_ID"
                " to another name to restore the master wallet under it"
            )
        client = self.client(wallet)
        accounts = saved["accounts"]
        try:
            existing = client.master_secret()
        except NodeError:
            existing = None
        if existing is None:
            client.restore_wallet(
                wallet.name, mnemonic=saved["mnemonic"], witness=accounts[0]["witness"]
            )
        elif existing["xprivkey"] != saved["xprivkey"]:
            raise RestoreRefused(f"bcoin wallet {wallet.name} exists and holds other keys")
        for account in accounts:
            try:
                index, _ = client.get_account(account["name"])
            except UnknownAccount:
                index, _ = client.create_account(account["name"], witness=account["witness"])
            if index != account["index"]:
                raise RestoreRefused(
                    f"bcoin account {account['name']} came back at index {index}, not"
                    f" {account['index']}: restore onto a new wallet"
                )
            detail = client.account_detail(account["name"])
            for _ in range(account["receive_depth"] - detail["receive_depth"]):
                client.new_address(account=account["name"])
            for _ in range(account["change_depth"] - detail["change_depth"]):
                client.new_change_address(account=account["name"])
        last = accounts[-1]["index"]
        for index in range(last + 1, last + 1 + gap):
            try:
                client.get_account(f"{GAP_ACCOUNT_PREFIX}{index}")
            except UnknownAccount:
                client.create_account(f"{GAP_ACCOUNT_PREFIX}{index}", witness=True)
        client.rescan(int(saved["restore_height"]))
        deadline = time.monotonic() + RESCAN_WAIT_SECONDS
        while True:
            history = client.history()
            if (
                len(_confirmed(history)) >= saved["confirmed_transactions"]
                and _wallet_height(history) >= client.height()
            ):
                return
            if time.monotonic() > deadline:
                raise RestoreRefused(
                    f"bcoin wallet {wallet.name} has not finished reading the chain again"
                )
            time.sleep(1)

    # --- payouts --------------------------------------------------------------------

    def payout_build(self, payout: Payout) -> BuiltPayout:
        from wallets.models import Payout, PayoutState

        client = self.client(payout.source_account.master_wallet)
        # A payout just relayed from this account that the wallet has not indexed yet still
        # looks unspent to it: building now would pick its coins.
        recent = timezone.now() - timedelta(minutes=10)
        for relayed in Payout.objects.filter(
            source_account_id=payout.source_account_id,
            state=PayoutState.RELAYED,
            relayed_at__gte=recent,
        ).exclude(id=payout.id):
            if client.wallet_tx(relayed.txid) is None:
                raise RetryLater(f"the wallet has not indexed payout {relayed.id} yet")
        # Nor a fee bump just relayed: building now could pick the change it spends.
        for bumped in Payout.objects.filter(
            source_account_id=payout.source_account_id, bumped_at__gte=recent
        ).exclude(bump_txid=""):
            if client.wallet_tx(bumped.bump_txid) is None:
                raise RetryLater(f"the wallet has not indexed the fee bump of payout {bumped.id}")
        rate = self.fee_rate(client)
        built = client.create_tx(
            account=payout.source_account.node_name,
            outputs=[(payout.address, payout.amount)],
            subtract_fee=True,
            rate=rate,
        )
        needed = -(-rate * vsize(built["hex"]) // 1000)
        if built["fee"] < needed:
            # bcoin sizes a transaction before it signs it, and a witness signature can
            # come out a byte longer: built again at the rate that pays the signed size.
            built = client.create_tx(
                account=payout.source_account.node_name,
                outputs=[(payout.address, payout.amount)],
                subtract_fee=True,
                rate=-(-rate * needed // built["fee"]),
            )
        return BuiltPayout(
            txid=built["txid"],
            raw=built["hex"],
            fee=built["fee"],
            sent=payout.amount - built["fee"],
        )

    def fee_rate(self, client: BitcoinClient) -> int:
        """What a payout pays (satoshi per 1,000 virtual bytes): the node's estimate for
        ``fee_target_blocks``, held between ``fee_rate_min`` and ``fee_rate_max``
        (satoshi per virtual byte); the floor while the node has no estimate. Never the
        wallet's own default."""
        conf = self.coin.conf
        floor, ceiling = conf["fee_rate_min"] * 1000, conf["fee_rate_max"] * 1000
        estimate = client.fee_estimate(conf["fee_target_blocks"])
        return min(max(estimate or floor, floor), ceiling)

    def sent_bytes(self, wallet: MasterWallet, txid: str) -> str | None:
        found = self.client(wallet).wallet_tx(txid)
        return found["tx"] if found else None

    def payout_relay(self, payout: Payout, *, bump: bool = False) -> None:
        raw = payout.bump_raw_tx if bump else payout.raw_tx
        self.client(payout.source_account.master_wallet).broadcast(raw)

    def payout_status(self, payout: Payout, *, bump: bool = False) -> TxStatus:
        client = self.client(payout.source_account.master_wallet)
        if bump:
            return client.tx_status(payout.bump_txid, payout.bump_raw_tx)
        return client.tx_status(payout.txid, payout.raw_tx)

    def payout_bump(self, payout: Payout) -> BuiltBump:
        """``wallets.chains.bitcoin_bump.payout_bump``, at the policy's rate now."""
        client = self.client(payout.source_account.master_wallet)
        return bitcoin_bump.payout_bump(
            client, payout, rate=self.fee_rate(client), dust=self.coin.dust
        )

    def cache_keys(self, owner_kind: str, owner_id: int, owner_tag: str) -> dict[str, str]:
        return {
            "map": f"bitcoin:{owner_kind}:account:map",
            "meta": f"bitcoin:{owner_kind}:account:{owner_id}",
        }


# mypy checks that the adapter implements the protocol.
_: type[ChainAdapter] = BitcoinChain
