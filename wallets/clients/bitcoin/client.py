"""The bcoin client's verbs: the node (blocks, the mempool, what it says of a transaction)
and the wallet (accounts, history, coins, transactions built and sent)."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

from django.conf import settings
from embit.transaction import Transaction

from wallets.clients.base import NodeRejected, NotFound, TxStatus, UnknownAccount
from wallets.clients.bitcoin.rpc import BitcoinRpc

SAT_PER_BTC = 100_000_000


def btc_to_sat(value: Decimal | int | str) -> int:
    sat = Decimal(value) * SAT_PER_BTC
    if sat != sat.to_integral_value():
        raise ValueError(f"{value} BTC is not a whole number of satoshis")
    return int(sat)


class BitcoinClient(BitcoinRpc):
    # The wallet's coins include unconfirmed outputs: a deposit in the mempool is in the balance.
    balance_counts_mempool_deposits = True

    # --- node ----------------------------------------------------------------------

    def node_info(self, *, timeout: float | None = None) -> dict:
        return self._call("GET", self.node_url, "/", method="info", read_timeout=timeout)

    def height(self) -> int:
        return int(self.node_info()["chain"]["height"])

    def mine(self, blocks: int, address: str) -> list[str]:
        return self.node_rpc("generatetoaddress", blocks, address)

    def broadcast(self, tx_hex: str) -> None:
        """Relay raw bytes. bcoin answers success even for a conflicting tx: confirm
        acceptance with ``wallet_tx`` afterwards."""
        self._call(
            "POST", self.node_url, "/broadcast", method="broadcast", body={"tx": tx_hex}, spend=True
        )

    def mempool(self) -> list[str]:
        return self._call("GET", self.node_url, "/mempool", method="mempool")

    def coin(self, txid: str, index: int) -> dict | None:
        """The node's unspent output ``txid:index`` (mempool spends count as spent), or
        None if it is spent or unknown."""
        try:
            return self._call("GET", self.node_url, f"/coin/{txid}/{index}", method="coin")
        except NotFound:
            return None

    def tx_status(self, txid: str, raw_hex: str) -> TxStatus:
        """What the node says of a transaction of the master wallet. Its stored bytes name
        its inputs: an input is called spent only when the node knows the coin's parent
        (in a block or in its mempool) and no longer has the coin; a parent it does not
        know (a mempool lost on restart) proves nothing."""
        known = self._on_node(txid)
        if known is not None:
            return known
        for txin in Transaction.from_string(raw_hex).vin:
            parent, index = txin.txid.hex(), txin.vout
            if self.coin(parent, index) is not None:
                continue
            parent_tx = self.wallet_tx(parent)
            if parent_tx is None:
                continue
            parent_in_block = int(parent_tx.get("height", -1)) >= 0
            if not parent_in_block and parent not in set(self.mempool() or []):
                continue
            # A block may have taken our own transaction between the calls: ask again.
            again = self._on_node(txid)
            if again is not None:
                return again
            in_block = parent_in_block and self.node_rpc("gettxout", parent, index, False) is None
            where = "in a block" if in_block else "in the mempool"
            return TxStatus(
                "conflicted",
                evidence=f"input {parent}:{index} is spent {where} by another transaction",
                final=in_block,
                txid=txid,
            )
        if self.wallet_tx(txid) is not None:
            return TxStatus("pending", evidence="the wallet holds it unconfirmed", txid=txid)
        return TxStatus("absent", txid=txid)

    def _on_node(self, txid: str) -> TxStatus | None:
        known = self.wallet_tx(txid)
        if known is not None and int(known.get("height", -1)) >= 0:
            return TxStatus(
                "confirmed", confirmations=int(known.get("confirmations") or 0), txid=txid
            )
        if txid in set(self.mempool() or []):
            return TxStatus("mempool", txid=txid)
        return None

    def invalidate_block(self, block_hash: str) -> None:
        self.node_rpc("invalidateblock", block_hash)

    def best_block_hash(self) -> str:
        return self.node_rpc("getbestblockhash")

    # --- wallet --------------------------------------------------------------------

    def wallet_info(self, *, wallet_id: str | None = None) -> dict:
        return self._wallet("GET", "", wallet_id=wallet_id, method="wallet")

    def ensure_wallet(self, wallet_id: str, *, witness: bool = False) -> dict:
        """The wallet ``wallet_id``, created if missing (its ``default`` account a native
        segwit one with ``witness``)."""
        try:
            return self.wallet_info(wallet_id=wallet_id)
        except NotFound:
            return self._call(
                "PUT",
                self.wallet_url,
                f"/wallet/{wallet_id}",
                method="create_wallet",
                body={"witness": witness},
            )

    def create_account(
        self, name: str, *, wallet_id: str | None = None, witness: bool = True
    ) -> tuple[int, str]:
        """Create account ``name``; returns (account index, receive address). A witness
        account (the default) derives native segwit P2WPKH addresses (``bc1q…``; ``rb1q…``
        on bcoin's regtest); ``witness=False`` legacy P2PKH ones."""
        data = self._wallet(
            "PUT",
            f"/account/{name}",
            wallet_id=wallet_id,
            method="create_account",
            body={"witness": witness},
        )
        return int(data["accountIndex"]), data["receiveAddress"]

    def get_account(self, name: str, *, wallet_id: str | None = None) -> tuple[int, str]:
        try:
            data = self._wallet(
                "GET", f"/account/{name}", wallet_id=wallet_id, method="get_account"
            )
        except NotFound as exc:
            raise UnknownAccount(f"bcoin account {name} not found", chain=self.chain) from exc
        return int(data["accountIndex"]), data["receiveAddress"]

    def master_secret(self, *, wallet_id: str | None = None) -> dict:
        """The wallet's master key and mnemonic (admin API key only): what restores it."""
        data = self._wallet("GET", "/master", wallet_id=wallet_id, method="wallet_master")
        if data.get("encrypted"):
            raise NodeRejected("the bcoin wallet is encrypted", chain=self.chain)
        return {
            "mnemonic": (data.get("mnemonic") or {}).get("phrase", ""),
            "xprivkey": (data.get("key") or {}).get("xprivkey", ""),
        }

    def accounts_detail(self, *, wallet_id: str | None = None) -> list[dict]:
        """Every account of the wallet by index: its name, whether it is a witness
        account, and how many receive and change addresses it has handed out."""
        names = self._wallet("GET", "/account", wallet_id=wallet_id, method="list_accounts")
        found = [self.account_detail(name, wallet_id=wallet_id) for name in names]
        return sorted(found, key=lambda a: a["index"])

    def account_detail(self, name: str, *, wallet_id: str | None = None) -> dict:
        data = self._wallet("GET", f"/account/{name}", wallet_id=wallet_id, method="get_account")
        return {
            "index": int(data["accountIndex"]),
            "name": data["name"],
            "witness": bool(data.get("witness")),
            "receive_depth": int(data.get("receiveDepth", 0)),
            "change_depth": int(data.get("changeDepth", 0)),
        }

    def restore_wallet(self, wallet_id: str, *, mnemonic: str, witness: bool) -> dict:
        """Create wallet ``wallet_id`` from its mnemonic (its ``default`` account a witness
        account or not, as the original's was)."""
        return self._call(
            "PUT",
            self.wallet_url,
            f"/wallet/{wallet_id}",
            method="create_wallet",
            body={"mnemonic": mnemonic, "witness": witness},
        )

    def rescan(self, height: int) -> None:
        """Roll every wallet of the node back to ``height`` and read the chain again from
        there. bcoin answers at once and rescans after."""
        self._call("POST", self.wallet_url, "/rescan", method="rescan", body={"height": height})

    def account_names(self) -> list[str]:
        return self._wallet("GET", "/account", method="list_accounts")

    def history(self) -> list[dict]:
        """Every wallet transaction, mempool included; outputs carry ``path.name``."""
        return self._wallet("GET", "/tx/history", method="tx_history")

    def pending(self) -> list[dict]:
        """The wallet's unconfirmed transactions (the mempool, and those a reorg or a
        rescan took out of their block), in ``history``'s form."""
        return self._wallet("GET", "/tx/unconfirmed", method="tx_unconfirmed")

    def recorded_since(self, start: int) -> list[dict]:
        """The wallet's transactions it first recorded at or after ``start`` (unix time on
        the node's clock: bcoin's ``mtime``, which a confirmation does not change), in
        ``history``'s form."""
        return self._wallet(
            "GET", "/tx/range", method="tx_range", params={"start": max(0, int(start))}
        )

    def payment_proof(self, *, txid: str, proof: str, address: str) -> int | None:
        """bcoin's history names every output's address: nothing to prove."""
        return None

    def refresh(self) -> None:
        """bcoin's wallet follows its node by itself: nothing to ask for."""

    def spends(self) -> list[dict]:
        """Every transaction the wallet sent (it spent one of the wallet's coins), mempool
        included: the accounts it spent from, its outputs other than change (address,
        amount, whether the address is the wallet's own), its fee and confirmations."""
        found = []
        for tx in self.history():
            sources = sorted({i["path"]["name"] for i in tx.get("inputs", []) if i.get("path")})
            if not sources:
                continue
            destinations = [
                (o.get("address") or "", int(o["value"]), bool(o.get("path")))
                for o in tx.get("outputs", [])
                if not (o.get("path") or {}).get("change")
            ]
            found.append(
                {
                    "txid": tx["hash"],
                    "sources": sources,
                    "destinations": destinations,
                    "fee": int(tx.get("fee") or 0),
                    "confirmations": int(tx.get("confirmations") or 0),
                }
            )
        return found

    def wallet_tx(self, txid: str, *, wallet_id: str | None = None) -> dict | None:
        try:
            return self._wallet("GET", f"/tx/{txid}", wallet_id=wallet_id, method="wallet_tx")
        except NotFound:
            return None

    def coins(self) -> list[dict]:
        """Every unspent output of the wallet, mempool included: its address, its value in
        satoshis and whether it is in a block (one call, ``GET /wallet/{id}/coin``). No
        account: ``listunspent`` names it by deriving each coin's key again, which at
        10,000 coins outlasts a read timeout; ``address_accounts`` names them instead."""
        return [
            {
                "txid": c["hash"],
                "vout": int(c["index"]),
                "address": c.get("address") or "",
                "value": int(c["value"]),
                "confirmed": int(c.get("height", -1)) >= 0,
            }
            for c in self._wallet("GET", "/coin", method="coins")
        ]

    def address_accounts(self, addresses: list[str]) -> dict[str, str]:
        """The name of the account each address belongs to ('' for one the wallet does not
        hold), read from the wallet's stored paths without deriving a key: one batched
        wallet RPC call, ``selectwallet`` then ``getaccount`` for each address."""
        if not addresses:
            return {}
        calls = [("selectwallet", [self.wallet_id])]
        calls += [("getaccount", [address]) for address in addresses]
        names = self._rpc_batch(self.wallet_url, calls)[1:]
        return {address: name or "" for address, name in zip(addresses, names, strict=True)}

    def balance(self, *, account: str | None = None, wallet_id: str | None = None) -> dict:
        params = {"account": account} if account is not None else None
        return self._wallet("GET", "/balance", wallet_id=wallet_id, method="balance", params=params)

    def new_address(self, *, account: str = "default", wallet_id: str | None = None) -> str:
        data = self._wallet(
            "POST", "/address", wallet_id=wallet_id, method="address", body={"account": account}
        )
        return data["address"]

    def new_change_address(self, *, account: str, wallet_id: str | None = None) -> str:
        data = self._wallet(
            "POST", "/change", wallet_id=wallet_id, method="change", body={"account": account}
        )
        return data["address"]

    def fee_estimate(self, blocks: int) -> int | None:
        """The node's fee rate for confirmation within ``blocks`` (``estimatesmartfee``),
        satoshi per 1,000 virtual bytes; None while it has no estimate."""
        answer = self.node_rpc("estimatesmartfee", blocks)
        fee = Decimal(str(answer.get("fee", -1) if isinstance(answer, dict) else answer))
        if fee <= 0:
            return None
        return int(fee * 10**8)

    def create_tx(
        self,
        *,
        account: str,
        outputs: list[tuple[str, int]],
        subtract_fee: bool,
        rate: int | None = None,
    ) -> dict:
        """Build and sign a transaction without broadcasting it; nothing is stored by bcoin.

        Returns ``{"txid", "hex", "fee"}``. With ``subtract_fee`` the network fee comes out
        of the first output. ``rate``: satoshi per 1,000 virtual bytes (else bcoin picks).
        """
        body: dict[str, Any] = {
            "account": account,
            "outputs": [{"address": a, "value": int(v)} for a, v in outputs],
        }
        if rate is not None:
            body["rate"] = int(rate)
        if subtract_fee:
            body["subtractFee"] = True
            body["subtractIndex"] = 0
        data = self._wallet("POST", "/create", method="create_tx", body=body)
        return {"txid": data["hash"], "hex": data["hex"], "fee": int(data["fee"])}

    def sign_tx(self, tx_hex: str) -> dict:
        """Sign the inputs of ``tx_hex`` whose coins and keys the wallet holds (its own
        unconfirmed change included), without broadcasting; nothing is stored by bcoin.
        Returns ``{"txid", "hex", "fee"}`` (the fee as the wallet's coins value it)."""
        data = self._wallet("POST", "/sign", method="sign_tx", body={"tx": tx_hex})
        return {"txid": data["hash"], "hex": data["hex"], "fee": int(data["fee"])}

    def send(
        self, *, address: str, amount: int, wallet_id: str | None = None, account: str = "default"
    ) -> str:
        """Build, sign and broadcast in one call (the customer wallet in demos and tests)."""
        return self.send_many(outputs=[(address, amount)], wallet_id=wallet_id, account=account)

    def send_many(
        self,
        *,
        outputs: list[tuple[str, int]],
        wallet_id: str | None = None,
        account: str = "default",
    ) -> str:
        """One transaction paying several addresses; returns its txid."""
        data = self._wallet(
            "POST",
            "/send",
            wallet_id=wallet_id,
            method="send",
            spend=True,
            body={
                "account": account,
                "outputs": [{"address": a, "value": int(v)} for a, v in outputs],
            },
        )
        return data["hash"]


@functools.cache
def get_bitcoin_client() -> BitcoinClient:
    conf = settings.BITCOIN
    return BitcoinClient(
        node_url=conf["node_url"],
        wallet_url=conf["wallet_url"],
        api_key=conf["api_key"],
        wallet_id=conf["wallet_id"],
        connect_timeout=settings.NODE_CONNECT_TIMEOUT,
        read_timeout=settings.NODE_READ_TIMEOUT,
    )
