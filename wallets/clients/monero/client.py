"""The Monero client's verbs: the daemon (blocks, the pool, what it says of a transaction),
the wallet file, and the wallet (accounts, transfers, balances, spends)."""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from django.conf import settings

from wallets.clients.base import (
    NodeRejected,
    NotFound,
    RetryLater,
    TxStatus,
    WalletExists,
    WalletNotOpen,
    decode_json,
)
from wallets.clients.monero.rpc import MoneroRpc


class MoneroClient(MoneroRpc):
    # get_balance (not strict) counts incoming transfers in the pool too.
    balance_counts_mempool_deposits = True

    # --- daemon --------------------------------------------------------------------

    def daemon_info(self, *, timeout: float | None = None) -> dict:
        return self.daemon("get_info", read_timeout=timeout)

    def height(self) -> int:
        return int(self.daemon_info()["height"])

    def mine(self, blocks: int, address: str) -> int:
        result = self.daemon(
            "generateblocks",
            {"amount_of_blocks": blocks, "wallet_address": address},
            read_timeout=max(self.read_timeout, blocks * 1.0),
        )
        return int(result.get("height", 0))

    def pop_blocks(self, blocks: int) -> None:
        """Remove the top blocks (regtest reorg tests). A plain (non-JSON-RPC) endpoint."""
        response = self.http(
            "POST",
            f"{self.daemon_url}/pop_blocks",
            method="pop_blocks",
            json_body={"nblocks": blocks},
            auth=self.daemon_auth,
        )
        data = decode_json(response) or {}
        if data.get("status") != "OK":
            raise NodeRejected(f"pop_blocks: {data}", chain=self.chain, method="pop_blocks")

    def flush_txpool(self, txids: list[str] | None = None) -> None:
        self.daemon("flush_txpool", {"txids": txids} if txids else {})

    def tx_status(
        self, txid: str, key_images: list[str], *, account_index: int | None = None
    ) -> TxStatus:
        """What the daemon says of a transaction (its key images tell a dropped transaction
        from one whose inputs another transaction spent)."""
        known = self._on_daemon(txid)
        if known is not None:
            return known
        if key_images:
            spent = self._daemon_plain("is_key_image_spent", {"key_images": key_images})
            for image, status in zip(key_images, spent.get("spent_status") or [], strict=False):
                if int(status):
                    # A block may have taken our own transaction between the calls.
                    again = self._on_daemon(txid)
                    if again is not None:
                        return again
                    where = "in a block" if int(status) == 1 else "in the pool"
                    return TxStatus(
                        "conflicted",
                        evidence=f"key image {image} is spent {where} by another transaction",
                        final=int(status) == 1,
                        txid=txid,
                    )
        mine = self.transfer_by_txid(txid, account_index=account_index)
        if mine is not None and (mine.get("transfer") or {}).get("type") == "pending":
            return TxStatus("pending", evidence="the wallet holds it as pending", txid=txid)
        return TxStatus("absent", txid=txid)

    def _on_daemon(self, txid: str) -> TxStatus | None:
        found = self._daemon_plain("get_transactions", {"txs_hashes": [txid]})
        for tx in found.get("txs") or []:
            if tx.get("tx_hash") != txid:
                continue
            if tx.get("in_pool"):
                return TxStatus("mempool", txid=txid)
            height = int(self.daemon_info()["height"])
            return TxStatus(
                "confirmed", confirmations=max(0, height - int(tx["block_height"])), txid=txid
            )
        return None

    # --- wallet file -----------------------------------------------------------------

    def wallet_version(self, *, timeout: float | None = None) -> dict:
        return self._wallet_rpc("get_version", read_timeout=timeout)

    def ensure_wallet(self) -> None:
        """Open the wallet file (creating it on first use) unless it is already open."""
        try:
            self._wallet_rpc("get_height")
            return
        except WalletNotOpen:
            pass
        try:
            self.open_wallet()
        except NotFound:
            try:
                self._wallet_rpc(
                    "create_wallet",
                    {"filename": self.wallet_file, "password": "", "language": "English"},
                    read_timeout=max(self.read_timeout, 60),
                )
            except WalletExists:
                self.open_wallet()

    def mnemonic(self) -> str:
        """The open wallet's 25-word seed: what restores its keys (not its accounts)."""
        return self.wallet("query_key", {"key_type": "mnemonic"})["key"]

    def restore_wallet(self, *, seed: str, restore_height: int) -> None:
        """Create the wallet file from its seed and open it; it reads the chain from
        ``restore_height``. Only account 0 exists afterwards."""
        with contextlib.suppress(WalletNotOpen, NodeRejected):
            self._wallet_rpc("close_wallet")
        self._wallet_rpc(
            "restore_deterministic_wallet",
            {
                "filename": self.wallet_file,
                "seed": seed,
                "restore_height": restore_height,
                "password": "",
                "language": "English",
                "autosave_current": True,
            },
            read_timeout=max(self.read_timeout, 300),
        )

    def rescan_blockchain(self) -> None:
        """Forget what the wallet read and read the chain again from its restore height
        (outputs to accounts created since are found too)."""
        self.wallet("rescan_blockchain", read_timeout=max(self.read_timeout, 600))

    def store(self) -> None:
        self.wallet("store")

    def stop_wallet(self) -> None:
        self.wallet("stop_wallet")

    def auto_refresh(self, *, period: int) -> None:
        self.wallet("auto_refresh", {"enable": True, "period": period})

    # --- wallet ----------------------------------------------------------------------

    def wallet_height(self) -> int:
        return int(self.wallet("get_height")["height"])

    def refresh(self) -> None:
        self.wallet("refresh", read_timeout=max(self.read_timeout, 60))

    def primary_address(self, account_index: int = 0) -> str:
        return self.wallet("get_address", {"account_index": account_index})["address"]

    def create_account(self, label: str) -> tuple[int, str]:
        result = self.wallet("create_account", {"label": label})
        return int(result["account_index"]), result["address"]

    def accounts(self, *, tag: str | None = None) -> list[dict]:
        params = {"tag": tag} if tag else {}
        return self.wallet("get_accounts", params).get("subaddress_accounts", [])

    def label_account(self, account_index: int, label: str) -> None:
        self.wallet("label_account", {"account_index": account_index, "label": label})

    def tag_accounts(self, tag: str, accounts: list[int]) -> None:
        self.wallet("tag_accounts", {"tag": tag, "accounts": accounts})

    def transfers(self, *, min_height: int = 0, outgoing: bool = False) -> dict:
        """Incoming transfers of every account (confirmed from ``min_height`` and pool);
        with ``outgoing`` also the wallet's own sent (``out``) and unmined (``pending``)."""
        params: dict[str, Any] = {"in": True, "pool": True, "all_accounts": True}
        if outgoing:
            params.update({"out": True, "pending": True})
        if min_height > 0:
            params.update({"filter_by_height": True, "min_height": min_height})
        return self.wallet("get_transfers", params)

    def spends(self) -> list[dict]:
        """Every transfer the wallet sent (mined, or relayed and pending): the account it
        spent from, its destinations (address, amount, None: the wallet does not say whether
        an address is its own), its fee and confirmations. A transfer the wallet did not
        commit itself (it found its key images spent in a block) has one destination of
        unknown address (None) with the amount it sent."""
        result = self.wallet("get_transfers", {"out": True, "pending": True, "all_accounts": True})
        found = []
        for kind in ("out", "pending"):
            for t in result.get(kind, []):
                destinations = [
                    (d.get("address", ""), int(d["amount"]), None)
                    for d in t.get("destinations") or []
                ] or [(None, int(t["amount"]), None)]  # a transfer it learnt from the chain
                found.append(
                    {
                        "txid": t["txid"],
                        "sources": [int(t["subaddr_index"]["major"])],
                        "destinations": destinations,
                        "fee": int(t.get("fee") or 0),
                        "confirmations": int(t.get("confirmations") or 0),
                    }
                )
        return found

    def balances(self) -> dict:
        """Per-subaddress balances of every account holding outputs (one call)."""
        return self.wallet("get_balance", {"all_accounts": True})

    def balance(self, account_index: int = 0) -> dict:
        return self.wallet("get_balance", {"account_index": account_index})

    def transfer_by_txid(self, txid: str, *, account_index: int | None = None) -> dict | None:
        params: dict[str, Any] = {"txid": txid}
        if account_index is not None:
            params["account_index"] = account_index
        try:
            return self.wallet("get_transfer_by_txid", params)
        except NotFound:
            return None

    def create_transfer(
        self, *, account_index: int, destinations: list[tuple[str, int]], priority: int = 0
    ) -> dict:
        """Build and sign without relaying. Returns txid, fee, metadata (the relayable
        bytes), blob and the key images it spends. Nothing is recorded by the wallet.
        ``priority``: wallet2's fee priority (0 its default, 1 lowest … 4 highest)."""
        result = self.wallet(
            "transfer",
            {
                "destinations": [{"address": a, "amount": int(v)} for a, v in destinations],
                "account_index": account_index,
                "priority": int(priority),
                "do_not_relay": True,
                "get_tx_hex": True,
                "get_tx_metadata": True,
                "get_tx_key": True,
            },
            read_timeout=self.transfer_read_timeout,
        )
        return {
            "txid": result["tx_hash"],
            "fee": int(result["fee"]),
            "amount": int(result["amount"]),
            "metadata": result["tx_metadata"],
            "blob": result.get("tx_blob", ""),
            "tx_key": result.get("tx_key", ""),
            "key_images": (result.get("spent_key_images") or {}).get("key_images", []),
        }

    def relay(self, metadata: str) -> str:
        """Relay a stored transaction; relaying the same bytes again is harmless."""
        result = self.wallet(
            "relay_tx", {"hex": metadata}, read_timeout=self.transfer_read_timeout, spend=True
        )
        return result["tx_hash"]

    def send(self, *, address: str, amount: int, account_index: int = 0) -> str:
        """Build and relay in one call (the customer wallet in demos and tests)."""
        return self.send_many(outputs=[(address, amount)], account_index=account_index)

    def send_many(self, *, outputs: list[tuple[str, int]], account_index: int = 0) -> str:
        """One transaction paying several addresses (at most 15); returns its txid."""
        result = self.wallet(
            "transfer",
            {
                "destinations": [{"address": a, "amount": int(v)} for a, v in outputs],
                "account_index": account_index,
            },
            read_timeout=self.transfer_read_timeout,
            spend=True,
        )
        return result["tx_hash"]

    def payment_proof(self, *, txid: str, proof: str, address: str) -> int | None:
        """What the transaction paid ``address``, proved to the daemon with its secret key
        (``check_tx_key``); None if it cannot be checked now."""
        if not proof:
            return None
        try:
            result = self.wallet(
                "check_tx_key", {"txid": txid, "tx_key": proof, "address": address}
            )
        except (NodeRejected, RetryLater):
            return None
        return int(result.get("received", 0))

    def validate_address(self, address: str) -> dict:
        return self.wallet("validate_address", {"address": address, "any_net_type": True})


def _client(wallet_url: str, wallet_file: str) -> MoneroClient:
    conf = settings.MONERO
    return MoneroClient(
        daemon_url=conf["daemon_url"],
        wallet_url=wallet_url,
        wallet_file=wallet_file,
        connect_timeout=settings.NODE_CONNECT_TIMEOUT,
        read_timeout=settings.NODE_READ_TIMEOUT,
        transfer_read_timeout=conf["transfer_read_timeout"],
        wallet_user=conf["wallet_user"],
        wallet_password=conf["wallet_password"],
        daemon_user=conf["daemon_user"],
        daemon_password=conf["daemon_password"],
    )


@functools.cache
def get_monero_client() -> MoneroClient:
    """The master wallet's monero-wallet-rpc."""
    return _client(settings.MONERO["wallet_url"], settings.MONERO["wallet_file"])


@functools.cache
def get_customer_monero_client() -> MoneroClient:
    """The regtest customer wallet (demos and tests pay orders from it)."""
    return _client(settings.MONERO["customer_wallet_url"], settings.MONERO["customer_wallet_file"])
