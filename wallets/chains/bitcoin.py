"""Bitcoin on bcoin: a wallet per master wallet, one bcoin account per deposit account.

Deposits: the node's tip and clock, the wallet's unconfirmed transactions
(``GET /wallet/{id}/tx/unconfirmed``) and those it recorded since the scan's reach
(``GET /wallet/{id}/tx/range``, by bcoin's ``mtime``), each output naming its account: 3
calls a scan (``GET /wallet/{id}/tx/history``, every wallet tx, for a rescan). Balances: the wallet's
coins (``GET /wallet/{id}/coin``), each named by its address: a deposit account's from the
books, any other (change) by one batched ``getaccount`` call: 1 or 2 calls. Payouts
subtract their fee from the amount, so a payout spends exactly its amount.
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
from django.db.models import Q
from django.utils import timezone
from embit import base58, bech32
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from wallets.addresses import AddressCheck, address_check
from wallets.chains.base import (
    BuiltBump,
    BuiltPayout,
    BumpRefused,
    ChainAdapter,
    ChainRead,
    RestoreRefused,
    Sighting,
    TxStatus,
    WalletBehind,
)
from wallets.chains.registry import Coin
from wallets.clients.base import (
    AccountExists,
    NodeError,
    NodeRejected,
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


def vsize(raw: str) -> int:
    """BIP 141 virtual size of a serialized transaction: the bytes without the witness
    count four times, the witness once."""
    total = len(bytes.fromhex(raw))
    tx = Transaction.from_string(raw)
    witness = sum(len(txin.witness.serialize()) for txin in tx.vin if txin.witness)
    base = total - (2 + witness if witness else 0)  # the marker and flag bytes
    return -(-(base * 3 + total) // 4)


def bump_fee_needed(*, rate: int, parent_fee: int, parent_vsize: int, child_vsize: int) -> int:
    """The fee a child must pay so that it and its parent together pay ``rate`` (satoshi
    per 1,000 virtual bytes), rounded up, and the child alone pays at least that rate (a
    child paying less would lower the package's rate rather than raise it)."""
    package = -(-rate * (parent_vsize + child_vsize) // 1000)
    own = -(-rate * child_vsize // 1000)
    return max(package - parent_fee, own)


def _coinbase(tx: dict) -> bool:
    inputs = tx.get("inputs") or []
    return bool(inputs) and (inputs[0].get("prevout") or {}).get("hash", "").strip("0") == ""


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
        """Confirmations are counted from the wallet's own height (confirmations = wallet
        height − height + 1). A wallet below its node's tip, or one that shows deposits
        settled long ago as unconfirmed (it is rescanning), is behind (``WalletBehind``).
        Transactions below the window are skipped, except those of deposits not settled
        yet: one that went back to the mempool (a reorg) may confirm again at its old
        height.

        With ``since`` (when the last scan that read up to the window read the wallet) the
        read is bounded by what changed: the node's tip and clock, the wallet's
        unconfirmed transactions, and those it first recorded since the oldest of
        ``since``, the deposits still followed and the payouts still moving (``_read_start``)
        — 3 calls, and a 4th only when these hold no transaction in a block to read the
        wallet's height from. Without it, the wallet's whole history (2 calls)."""
        from wallets.models import Deposit

        client = self.client(wallet)
        before = timezone.now()
        info = client.node_info()
        tip = int(info["chain"]["height"])
        follow = set(
            Deposit.objects.filter(master_wallet=wallet, dropped=False)
            .exclude(unlocked=True, confirmations__gte=final)
            .values_list("txid", flat=True)
        )
        counting: set[str] = set()
        system = (info.get("time") or {}).get("system")
        node_clock = int(system) if system is not None else None
        # The reach is set by this machine's times and the deposits' node times: it holds
        # only while the two clocks agree within half the overlap (and bcoin's whole
        # seconds); otherwise, read it all.
        skewed = node_clock is None or abs(node_clock - before.timestamp()) > max(
            2, settings.SCAN_TIME_OVERLAP_SECONDS / 2
        )
        if since is None or skewed:
            if since is not None:
                logger.warning(
                    "bitcoin scan of %s reads the whole history: the node's clock is %s s"
                    " off this machine's",
                    wallet,
                    None if node_clock is None else node_clock - int(before.timestamp()),
                )
            history = client.history()
        else:
            node_now = node_clock if node_clock is not None else int(before.timestamp())
            start, counting = self._read_start(wallet, since=since, final=final, before=before)
            pending = client.pending()
            recorded = client.recorded_since(node_now - int((before - start).total_seconds()))
            # A transaction in both: the later read (it may have confirmed in between).
            history = list({tx["hash"]: tx for tx in pending + recorded}.values())
        # A rescan reverts the newest transactions first: those just below the margin show it.
        deep = max(0, tip - settings.SCAN_REORG_MARGIN)
        settled_deep = dict(
            Deposit.objects.filter(
                master_wallet=wallet, dropped=False, height__lt=deep, height__gte=deep - 100
            ).values_list("txid", "height")
        )
        seen: list[Sighting] = []
        txs: dict[str, int] = {}
        wallet_height = 0
        reverted = []
        for tx in history:
            confirmations = int(tx.get("confirmations") or 0)
            if confirmations < 2 * final:  # payouts are followed while they may still move
                txs[tx["hash"]] = confirmations
            elif tx["hash"] in counting:
                # Scans paused for longer than that: its count ends where it would have.
                txs[tx["hash"]] = 2 * final - 1
            height = int(tx["height"]) if int(tx.get("height", -1)) >= 0 else None
            if height is not None and confirmations:
                wallet_height = max(wallet_height, height + confirmations - 1)
            if height is None and tx["hash"] in settled_deep and not _coinbase(tx):
                reverted.append(tx["hash"])
                if len(reverted) >= 2:
                    # One deep transaction out of its block is a deep reorg; several are a
                    # wallet rolling its history back to rescan it.
                    raise WalletBehind(
                        f"{len(reverted)} transactions settled long ago show as unconfirmed "
                        "(the wallet is rescanning)"
                    )
            if height is not None and height < window and tx["hash"] not in follow:
                continue
            confirmations = min(confirmations, final)
            for index, output in enumerate(tx.get("outputs", [])):
                path = output.get("path")
                if not path or path.get("change"):
                    continue
                seen.append(
                    Sighting(
                        account_key=path["name"],
                        txid=tx["hash"],
                        output_key=str(index),
                        amount=int(output["value"]),
                        height=height,
                        confirmations=confirmations,
                        unlocked=confirmations >= 1,
                        node_seen=int(tx["mtime"]) if tx.get("mtime") else None,
                    )
                )
        if not wallet_height and since is not None:
            wallet_height = self._wallet_height_known(wallet, client, deep=deep)
        if wallet_height and wallet_height < tip:
            raise WalletBehind(f"the wallet is at height {wallet_height}, its node at {tip}")
        return ChainRead(sightings=seen, height=wallet_height or tip, own_txs=txs)

    def _read_start(
        self, wallet: MasterWallet, *, since: datetime, final: int, before: datetime
    ) -> tuple[datetime, set[str]]:
        """How far back (on this process's clock) a bounded read reaches: to the last scan's
        read, to the oldest deposit still followed (a deposit's ``seen_at`` is at most the
        node's ``mtime``), to the oldest payout still moving (made before its transaction
        was), and to the newest deposit in a block (the wallet's height is read from it),
        less ``SCAN_TIME_OVERLAP_SECONDS`` for the clocks and bcoin's whole seconds. Also
        the txids of the confirmed payouts still counting."""
        from django.db.models import Min

        from wallets.models import Deposit, Payout, PayoutState

        followed = (
            Deposit.objects.filter(master_wallet=wallet, dropped=False)
            .exclude(unlocked=True, confirmations__gte=final)
            .aggregate(oldest=Min("seen_at"))["oldest"]
        )
        moving = Payout.objects.filter(source_account__master_wallet=wallet).filter(
            Q(state__in=(PayoutState.SIGNED, PayoutState.RELAYED))
            | Q(state=PayoutState.CONFIRMED, confirmations__lt=2 * final - 1)
        )
        oldest_payout = moving.aggregate(oldest=Min("created_at"))["oldest"]
        counting = set(moving.filter(state=PayoutState.CONFIRMED).values_list("txid", flat=True))
        # And to the newest deposit in a block, which gives the wallet's height.
        newest = (
            Deposit.objects.filter(master_wallet=wallet, dropped=False, height__isnull=False)
            .order_by("-seen_at")
            .values_list("seen_at", flat=True)
            .first()
        )
        start = min(t for t in (since, followed, oldest_payout, newest, before) if t is not None)
        return start - timedelta(seconds=settings.SCAN_TIME_OVERLAP_SECONDS), counting

    def _wallet_height_known(
        self, wallet: MasterWallet, client: BitcoinClient, *, deep: int
    ) -> int:
        """The wallet's height from a deposit it holds in a block, read on its own: the
        newest one settled below ``deep`` (a rescan gives it back to its block early; a
        reorg that deep is not expected), else the newest (0 if the wallet does not hold
        it, or holds none). One settled below ``deep`` that shows as unconfirmed is a
        wallet rescanning (or a reorg deeper than the margin): behind."""
        from wallets.models import Deposit

        recorded = Deposit.objects.filter(
            master_wallet=wallet, dropped=False, height__isnull=False
        ).order_by("-height")
        known = recorded.filter(height__lt=deep).values_list("txid", "height").first()
        known = known or recorded.values_list("txid", "height").first()
        if known is None:
            return 0
        txid, height = known
        tx = client.wallet_tx(txid)
        if tx is None:
            return 0
        if int(tx.get("height", -1)) < 0 or not tx.get("confirmations"):
            if height is not None and height < deep:
                raise WalletBehind(
                    f"transaction {txid}, in block {height} below the reorg margin, shows as"
                    " unconfirmed (the wallet is rescanning)"
                )
            return 0
        return int(tx["height"]) + int(tx["confirmations"]) - 1

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
        """Child pays for parent: one input, the payout's change output (an output of its
        transaction paying back into the source account), and one output paying that
        value less the child's fee to the same change address. The fee lifts the payout
        and its child together to ``fee_rate`` (the policy's rate now), and the child
        alone pays at least that rate. The destination is paid nothing more: it is
        still the parent's one output to it.

        bcoin 1.0.2 cannot replace a transaction (its mempool refuses any spend of an
        input already spent in the mempool, and transactions that signal replacement
        unless ``replaceByFee`` is on), so a replace-by-fee bump could never be relayed
        through it. The child is signed by the wallet (``POST /wallet/:id/sign``), which
        holds the unconfirmed change as its own coin."""
        client = self.client(payout.source_account.master_wallet)
        held = client.wallet_tx(payout.txid)
        if held is None:
            raise RetryLater(f"the wallet does not hold {payout.txid} yet")
        source = payout.source_account.node_name
        # Only a change output (bcoin's change branch): a child paying a receive address
        # back would be seen as a new deposit.
        change = [
            (index, output)
            for index, output in enumerate(held.get("outputs") or [])
            if (output.get("path") or {}).get("name") == source
            and (output.get("path") or {}).get("change")
            and output.get("address") != payout.address
        ]
        if not change:
            raise BumpRefused(
                "its transaction has no change output (it spent everything its account"
                " held): nothing of the account's own can pay for a child"
            )
        index, output = max(change, key=lambda c: int(c[1]["value"]))
        value = int(output["value"])
        if client.coin(payout.txid, index) is None:
            raise BumpRefused(
                f"its change {payout.txid}:{index} is already spent, or unknown to the node"
            )
        parent = Transaction.from_string(payout.raw_tx)
        script = parent.vout[index].script_pubkey
        rate = self.fee_rate(client)
        parent_vsize = vsize(payout.raw_tx)
        if payout.network_fee * 1000 >= rate * parent_vsize:
            raise BumpRefused(
                f"it pays {payout.network_fee * 1000 // parent_vsize} satoshi per 1,000 vB"
                f" already, the policy's rate now is {rate}: a child would not speed it up"
            )
        fee = 0
        # A signature's length varies by a byte: sign until the fee covers the size signed.
        for _ in range(4):
            if value - fee < self.coin.dust:
                raise BumpRefused(
                    f"its change ({value}) cannot pay the {fee} a child needs and keep an"
                    f" output of at least {self.coin.dust}"
                )
            child = Transaction(
                version=2,
                vin=[TransactionInput(bytes.fromhex(payout.txid), index)],
                vout=[TransactionOutput(value - fee, script)],
                locktime=0,
            )
            signed = client.sign_tx(child.serialize().hex())
            signed_input = Transaction.from_string(signed["hex"]).vin[0]
            if not signed_input.witness and not signed_input.script_sig.data:
                raise NodeRejected(
                    f"the wallet did not sign the change {payout.txid}:{index}", chain="bitcoin"
                )
            child_vsize = vsize(signed["hex"])
            needed = bump_fee_needed(
                rate=rate,
                parent_fee=payout.network_fee,
                parent_vsize=parent_vsize,
                child_vsize=child_vsize,
            )
            if fee and fee >= needed:
                if signed["fee"] != fee:
                    raise NodeRejected(
                        f"the wallet values the child's fee at {signed['fee']}, not {fee}",
                        chain="bitcoin",
                    )
                package = (payout.network_fee + fee) * 1000 // (parent_vsize + child_vsize)
                return BuiltBump(txid=signed["txid"], raw=signed["hex"], fee=fee, rate=package)
            fee = needed
        raise RetryLater(f"payout {payout.id}: the child's size did not settle")

    def cache_keys(self, owner_kind: str, owner_id: int, owner_tag: str) -> dict[str, str]:
        return {
            "map": f"bitcoin:{owner_kind}:account:map",
            "meta": f"bitcoin:{owner_kind}:account:{owner_id}",
        }


# mypy checks that the adapter implements the protocol.
_: type[ChainAdapter] = BitcoinChain
