"""Monero on monero-wallet-rpc: one wallet file per master wallet, one account (major
index) per deposit account, tagged ``{kind}_{id}`` on the node.

Deposits: ``refresh``, ``get_height`` and ``get_transfers {in, pool, all_accounts,
min_height}``: 3 calls a scan; a deposit is spendable once unlocked (10 blocks). Balances:
``get_balance {all_accounts}`` (per subaddress holding outputs): 1 call; not ``strict``, it
counts incoming transfers still in the pool, as bitcoin's does its mempool.
monero-wallet-rpc 0.18 cannot subtract a fee from an output, so payouts are proposed
(never relayed) until one pays the amount with its fee. Addresses are parsed with the
``monero`` package; Monero's regtest uses mainnet-format addresses.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.conf import settings
from monero.address import IntegratedAddress, SubAddress
from monero.address import address as parse_monero

from wallets.addresses import AddressCheck, address_check
from wallets.chains.base import (
    BuiltBump,
    BuiltPayout,
    ChainAdapter,
    ChainRead,
    RestoreRefused,
    Sighting,
    TxStatus,
)
from wallets.chains.registry import Coin
from wallets.clients.base import (
    InsufficientFunds,
    InvalidAmount,
    NodeError,
    NotFound,
    RetryLater,
)
from wallets.clients.monero import MoneroClient

if TYPE_CHECKING:
    from datetime import datetime

    from wallets.models import MasterWallet, Payout, WalletAccount

NETWORKS = {"main": "mainnet", "test": "testnet", "stage": "stagenet"}


def parse_address(address: str) -> AddressCheck:
    """The network and type (standard, subaddress, integrated) of a Monero address."""
    try:
        parsed = parse_monero(address)
    except ValueError as exc:
        return AddressCheck(False, error=f"not a monero address ({exc})"[:200])
    kind = (
        "integrated"
        if isinstance(parsed, IntegratedAddress)
        else "subaddress"
        if isinstance(parsed, SubAddress)
        else "standard"
    )
    return AddressCheck(True, network=NETWORKS.get(parsed.net, parsed.net), type=kind)


def _index(account: WalletAccount) -> int:
    """The account's index on the node (every account has one once the node made it)."""
    if account.account_index is None:
        raise ValueError(f"account {account.id} has no index on the node")
    return account.account_index


def _propose(client: MoneroClient, payout: Payout, amount: int) -> dict:
    """A proposal (signed, never relayed) paying ``amount`` of ``payout`` at the fee
    priority of the settings (MONERO_FEE_PRIORITY)."""
    return client.create_transfer(
        account_index=_index(payout.source_account),
        destinations=[(payout.address, amount)],
        priority=settings.COIN_SETTINGS["XMR"]["fee_priority"],
    )


def _fee_of_half(client: MoneroClient, payout: Payout) -> int | None:
    """The fee of a proposal paying half of ``payout``'s amount, or None if even that
    cannot be built."""
    try:
        proposal = _propose(client, payout, payout.amount // 2)
    except InsufficientFunds:
        return None
    return int(proposal["fee"])


@functools.cache
def _client(endpoint: str, wallet_file: str) -> MoneroClient:
    conf = getattr(settings, endpoint)
    return MoneroClient(
        daemon_url=conf["daemon_url"],
        wallet_url=conf["wallet_url"],
        wallet_file=wallet_file,
        connect_timeout=settings.NODE_CONNECT_TIMEOUT,
        read_timeout=settings.NODE_READ_TIMEOUT,
        transfer_read_timeout=conf["transfer_read_timeout"],
        wallet_user=conf.get("wallet_user", ""),
        wallet_password=conf.get("wallet_password", ""),
        daemon_user=conf.get("daemon_user", ""),
        daemon_password=conf.get("daemon_password", ""),
    )


class MoneroChain:
    account_key = "account_index"
    labels_accounts = True
    # get_balance without ``strict`` adds the wallet's unconfirmed incoming payments (those
    # the daemon does not mark as double spends) and the change of its own unmined
    # transfers: deposits in the pool are in it.
    balance_counts_mempool = True

    def __init__(self, coin: Coin):
        self.coin = coin

    def client(self, wallet: MasterWallet) -> MoneroClient:
        return _client(wallet.endpoint, wallet.name)

    def wallet_defaults(self) -> dict[str, str]:
        conf = self.coin.conf
        return {
            "name": conf["wallet_file"],
            "network": conf["network"],
            "endpoint": self.coin.settings_block,
        }

    def node_status(self, *, timeout: float) -> dict[str, Any]:
        client = _client(self.coin.settings_block, self.coin.conf["wallet_file"])
        try:
            info = client.daemon_info(timeout=timeout)
            client.wallet_version(timeout=timeout)
        except NodeError as exc:
            return {"reachable": False, "error": str(exc)}
        height = int(info["height"])
        # target_height is what the daemon's peers are at, 0 once it has caught up.
        headers = max(height, int(info.get("target_height") or 0))
        return {
            "reachable": True,
            "height": height,
            "headers": headers,
            "progress": height / headers if headers else 1.0,
            "synced": bool(info.get("synchronized")) and height >= headers,
        }

    def validate_address(self, address: str) -> AddressCheck:
        configured = self.coin.network
        return address_check(
            address,
            parse=parse_address,
            chain=self.coin.chain,
            configured=configured,
            expected="mainnet" if configured == "regtest" else configured,
        )

    # --- deposits -------------------------------------------------------------------

    def deposits_read(
        self, wallet: MasterWallet, window: int, *, final: int, since: datetime | None = None
    ) -> ChainRead:
        from wallets.models import AccountPurpose, WalletAccount

        client = self.client(wallet)
        client.refresh()
        tip = client.wallet_height() - 1
        # min_height is exclusive (wallet2 keeps transfers with min_height < height).
        result = client.transfers(min_height=window - 1, outgoing=True)
        txs = {
            t["txid"]: int(t.get("confirmations") or 0)
            for t in result.get("out", [])
            if int(t.get("confirmations") or 0) < 2 * final
        }
        txs.update({t["txid"]: 0 for t in result.get("pending", [])})
        house = {
            int(i)
            for i in WalletAccount.objects.filter(
                master_wallet=wallet, purpose=AccountPurpose.LIQUIDITY
            ).values_list("account_index", flat=True)
            if i is not None
        }
        seen: list[Sighting] = []
        for kind in ("in", "pool"):
            for t in result.get(kind, []):
                index = t["subaddr_index"]
                coinbase = t.get("type") == "block"
                if t.get("type") not in ("in", "pool") and not (
                    coinbase and index["major"] in house
                ):
                    continue  # coinbase outputs count only as the house's funding
                height = int(t.get("height") or 0) or None
                confirmations = int(t.get("confirmations") or 0) if kind == "in" else 0
                seen.append(
                    Sighting(
                        account_key=int(index["major"]),
                        txid=t["txid"],
                        output_key=f"{index['major']}.{index['minor']}",
                        amount=int(t["amount"]),
                        height=height,
                        confirmations=min(confirmations, final),
                        unlocked=kind == "in" and not t.get("locked", True),
                        double_spend_seen=bool(t.get("double_spend_seen")),
                        # A pool entry's timestamp is when the daemon received it; a block's
                        # timestamp is set by its miner and is not trusted.
                        node_seen=int(t["timestamp"])
                        if kind == "pool" and t.get("timestamp")
                        else None,
                    )
                )
        return ChainRead(sightings=seen, height=tip, own_txs=txs)

    def balances(self, wallet: MasterWallet, *, refresh: bool = False) -> dict:
        client = self.client(wallet)
        if refresh:
            client.refresh()
        totals: dict[int, list[int]] = {}
        for sub in client.balances().get("per_subaddress", []):
            total = totals.setdefault(int(sub["account_index"]), [0, 0])
            total[0] += int(sub["balance"])
            total[1] += int(sub["unlocked_balance"])
        return {key: (t[0], t[1]) for key, t in totals.items()}

    # --- accounts -------------------------------------------------------------------

    def house_account(self, wallet: MasterWallet) -> tuple[int, str]:
        return 0, self.client(wallet).primary_address(0)

    def account_create(self, wallet: MasterWallet, name: str) -> tuple[int, str]:
        return self.client(wallet).create_account(name)

    def accounts_named(self, wallet: MasterWallet) -> dict[str, tuple[int, str]]:
        return {
            a.get("label", ""): (int(a["account_index"]), a["base_address"])
            for a in self.client(wallet).accounts()
        }

    def accounts_saved(self, wallet: MasterWallet) -> None:
        # monero-wallet-rpc keeps new accounts in memory until it saves the wallet file.
        self.client(wallet).store()

    def account_label(self, account: WalletAccount) -> None:
        client = self.client(account.master_wallet)
        client.tag_accounts(account.owner_tag, [_index(account)])
        client.label_account(_index(account), account.owner_tag)

    # --- backup and restore ---------------------------------------------------------

    def wallet_backup(self, wallet: MasterWallet) -> dict[str, Any]:
        """The seed, every account's address by index (account 0's recognises the wallet
        again) and the height of its first transfer. A wallet restored from its seed
        brings only account 0 back: the others are created again, in order."""
        client = self.client(wallet)
        transfers = client.transfers(outgoing=True)
        heights = [
            int(t["height"])
            for kind in ("in", "out")
            for t in transfers.get(kind, [])
            if int(t.get("height") or 0) > 0
        ]
        return {
            "seed": client.mnemonic(),
            "address": client.primary_address(0),
            "accounts": [a["base_address"] for a in client.accounts()],
            "restore_height": max(0, min(heights, default=client.height()) - 1),
        }

    def wallet_restore(self, wallet: MasterWallet, saved: dict[str, Any], *, gap: int) -> None:
        """The wallet file is made again from the seed, every account is created again
        (each account's keys follow from its index) and ``gap`` more labelled
        ``restore-gap``, then the wallet reads the chain again
        from the restore height: outputs to accounts past the wallet's lookahead are only
        found once the accounts exist."""
        client = self.client(wallet)
        try:
            client.open_wallet()
        except NotFound:
            client.restore_wallet(seed=saved["seed"], restore_height=int(saved["restore_height"]))
        if client.primary_address(0) != saved["address"]:
            raise RestoreRefused(f"monero wallet file {wallet.name} exists and holds other keys")
        for _ in range(len(saved["accounts"]) - len(client.accounts())):
            client.create_account("")
        for _ in range(len(saved["accounts"]) + gap - len(client.accounts())):
            client.create_account("restore-gap")
        client.store()
        for account in client.accounts():
            index = int(account["account_index"])
            if (
                index < len(saved["accounts"])
                and account["base_address"] != saved["accounts"][index]
            ):
                raise RestoreRefused(f"monero account {index} came back with another address")
        client.rescan_blockchain()
        client.store()

    # --- payouts --------------------------------------------------------------------

    def payout_build(self, payout: Payout) -> BuiltPayout:
        """Proposals are built (never relayed, nothing stored) until one pays exactly the
        payout amount with its fee. If the fee does not settle in MONERO_FEE_ATTEMPTS
        proposals, the proposal that pays closest to the amount without passing it is
        kept; what it leaves in the account is the payout's ``remainder``. The fee and
        amount stored are the ones the signed transaction pays, always; a proposal that
        would spend more than the amount is never kept."""
        from wallets.models import Payout

        client = self.client(payout.source_account.master_wallet)
        guess = (
            Payout.objects.filter(chain=self.coin.chain, network_fee__gt=0)
            .order_by("-id")
            .values_list("network_fee", flat=True)
            .first()
            or settings.MONERO_FEE_GUESS
        )
        best = None
        short = None
        probed = False
        for _ in range(max(1, settings.MONERO_FEE_ATTEMPTS)):
            if guess >= payout.amount:
                raise InvalidAmount(
                    f"amount {payout.amount} does not cover the network fee {guess}"
                )
            try:
                proposal = _propose(client, payout, payout.amount - guess)
            except InsufficientFunds as exc:
                # The guess was below the fee of a payout that spends the whole account.
                # Once, a proposal for half of it (the same outputs spent, the same
                # outputs made) says what the fee is; after that, the guess doubles.
                short = exc
                fee = None if probed else _fee_of_half(client, payout)
                probed = True
                doubled = max(guess * 2, settings.MONERO_FEE_GUESS)
                guess = min(payout.amount, fee if fee and fee > guess else doubled)
                continue
            spends = proposal["amount"] + proposal["fee"]
            if spends <= payout.amount and (best is None or spends > best["amount"] + best["fee"]):
                best = proposal
            if proposal["fee"] == guess:
                break
            guess = proposal["fee"]
        if best is None:
            if short is not None and guess >= payout.amount:
                raise short
            raise RetryLater(f"payout {payout.id}: no proposal fits the amount with its fee yet")
        return BuiltPayout(
            txid=best["txid"],
            raw=best["metadata"],
            fee=best["fee"],
            sent=best["amount"],
            key_images=best["key_images"],
            tx_key=best["tx_key"],
        )

    def sent_bytes(self, wallet: MasterWallet, txid: str) -> str | None:
        return None  # the wallet relays what it signed (relay_tx), not the chain's bytes

    def payout_relay(self, payout: Payout, *, bump: bool = False) -> None:
        if bump:
            raise ValueError("a Monero payout has no fee bump to relay")
        self.client(payout.source_account.master_wallet).relay(payout.raw_tx)

    def payout_status(self, payout: Payout, *, bump: bool = False) -> TxStatus:
        if bump:
            raise ValueError("a Monero payout has no fee bump to ask about")
        client = self.client(payout.source_account.master_wallet)
        return client.tx_status(
            payout.txid, payout.key_images, account_index=payout.source_account.account_index
        )

    def payout_bump(self, payout: Payout) -> BuiltBump | None:
        """Monero has no fee bump: a transaction's fee is fixed once it is relayed (no
        replacement, and no child can spend its change before it unlocks, 10 blocks after
        it confirms). A relayed payout is followed as it is."""
        return None

    def cache_keys(self, owner_kind: str, owner_id: int, owner_tag: str) -> dict[str, str]:
        return {
            "map": f"monero:{owner_kind}:account:map",
            "meta": f"monero:tag:{owner_tag}",
            "tags": f"monero:tag:{owner_kind}",
        }


# mypy checks that the adapter implements the protocol.
_: type[ChainAdapter] = MoneroChain
