"""The Monero client's transport: JSON-RPC and plain calls to monerod and monero-wallet-rpc,
each with its own digest login, and the one table from node error codes to exceptions.
"""

from __future__ import annotations

import itertools
from typing import Any

from requests.auth import HTTPDigestAuth

from wallets.clients.base import (
    FundsLocked,
    HttpNode,
    InsufficientFunds,
    InvalidAddress,
    InvalidAmount,
    NodeError,
    NodeUnavailable,
    NotFound,
    OutcomeUnknown,
    UnclearAnswer,
    UnknownAccount,
    WalletExists,
    WalletNotOpen,
    decode_json,
)

# monero-wallet-rpc error code -> exception class (node-facts.md, section 3.8). A code not
# listed is an unclear answer (retry later), never a rejection.
ERROR_CODES: dict[int, type[NodeError]] = {
    -2: InvalidAddress,
    # "Failed to commit tx": any exception inside commit_tx, including a daemon that took
    # the transaction but whose reply was lost. Ask the daemon before concluding anything.
    -4: OutcomeUnknown,
    -3: NodeUnavailable,  # the daemon is busy
    -38: NodeUnavailable,  # no connection to the daemon
    -8: NotFound,
    -13: WalletNotOpen,
    -14: UnknownAccount,
    # "Transaction not possible. Available only X, transaction amount Y = A + fee": the
    # amount fits, the fee on top does not (the payout's fee loop then guesses higher).
    -16: InsufficientFunds,
    -17: InsufficientFunds,
    -19: FundsLocked,  # "not enough outputs to use": too few mature outputs on a young chain
    -21: WalletExists,
    -37: FundsLocked,  # "not enough unlocked money"
    -46: InvalidAmount,
}
# Codes shared by several meanings: the message decides.
ERROR_MESSAGES: list[tuple[str, type[NodeError]]] = [
    ("Account index out of bound", UnknownAccount),
    ("account index is out of bound", UnknownAccount),
    ("Failed to open wallet", NotFound),
]


def rpc_login(user: str, password: str) -> HTTPDigestAuth | None:
    """The digest login of a monerod or monero-wallet-rpc started with ``--rpc-login``
    (None when no user is set: the RPC runs without a login)."""
    return HTTPDigestAuth(user, password) if user else None


class MoneroRpc(HttpNode):
    """monerod and monero-wallet-rpc over HTTP; a node error raises its class in ``ERROR_CODES``."""

    chain = "monero"

    def __init__(
        self,
        *,
        daemon_url: str,
        wallet_url: str,
        wallet_file: str,
        connect_timeout: float,
        read_timeout: float,
        transfer_read_timeout: float,
        wallet_user: str = "",
        wallet_password: str = "",
        daemon_user: str = "",
        daemon_password: str = "",
    ):
        super().__init__(connect_timeout=connect_timeout, read_timeout=read_timeout)
        self.wallet_auth = rpc_login(wallet_user, wallet_password)
        self.daemon_auth = rpc_login(daemon_user, daemon_password)
        self.daemon_url = daemon_url.rstrip("/")
        self.wallet_url = wallet_url.rstrip("/")
        self.wallet_file = wallet_file
        self.transfer_read_timeout = transfer_read_timeout
        self._ids = itertools.count(1)

    def _json_rpc(
        self,
        base: str,
        method: str,
        params: dict | None = None,
        *,
        auth: HTTPDigestAuth | None,
        read_timeout: float | None = None,
        spend: bool = False,
    ) -> Any:
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": str(next(self._ids)), "method": method}
        if params is not None:
            body["params"] = params
        response = self.http(
            "POST",
            f"{base}/json_rpc",
            method=method,
            json_body=body,
            read_timeout=read_timeout,
            spend=spend,
            auth=auth,
        )
        if response.status_code == 401:
            raise NodeUnavailable(
                "monero RPC refused the credentials", chain=self.chain, method=method
            )
        if response.status_code >= 500:
            raise NodeUnavailable(
                f"monero RPC HTTP {response.status_code}", chain=self.chain, method=method
            )
        try:
            data = decode_json(response)
        except ValueError as exc:
            raise NodeUnavailable(
                "monero RPC: unreadable response", chain=self.chain, method=method
            ) from exc
        if not isinstance(data, dict):
            raise NodeUnavailable("monero RPC: empty response", chain=self.chain, method=method)
        if "error" in data:
            code = int(data["error"].get("code", 0))
            message = data["error"].get("message", "")
            cls: type[NodeError] = ERROR_CODES.get(code, UnclearAnswer)
            for needle, by_message in ERROR_MESSAGES:
                if needle in message:
                    cls = by_message
            raise cls(f"{method}: {message}", chain=self.chain, method=method, code=code)
        return data.get("result", {})

    def daemon(self, method: str, params: dict | None = None, **kwargs: Any) -> Any:
        return self._json_rpc(self.daemon_url, method, params, auth=self.daemon_auth, **kwargs)

    def _wallet_rpc(self, method: str, params: dict | None = None, **kwargs: Any) -> Any:
        return self._json_rpc(self.wallet_url, method, params, auth=self.wallet_auth, **kwargs)

    def wallet(self, method: str, params: dict | None = None, **kwargs: Any) -> Any:
        """A wallet call; reopens the wallet once if monero-wallet-rpc was restarted."""
        try:
            return self._wallet_rpc(method, params, **kwargs)
        except WalletNotOpen:
            self.open_wallet()
            return self._wallet_rpc(method, params, **kwargs)

    def open_wallet(self) -> None:
        self._wallet_rpc(
            "open_wallet",
            {"filename": self.wallet_file, "password": ""},
            read_timeout=max(self.read_timeout, 60),
        )

    def _daemon_plain(self, path: str, body: dict) -> dict:
        """A daemon call outside JSON-RPC (``/get_transactions``, ``/is_key_image_spent``)."""
        response = self.http(
            "POST", f"{self.daemon_url}/{path}", method=path, json_body=body, auth=self.daemon_auth
        )
        if response.status_code == 401:
            raise NodeUnavailable("monerod refused the credentials", chain=self.chain, method=path)
        if response.status_code >= 400:
            raise NodeUnavailable(
                f"monerod /{path} HTTP {response.status_code}", chain=self.chain, method=path
            )
        try:
            data = decode_json(response) or {}
        except ValueError as exc:
            raise NodeUnavailable(
                f"monerod /{path}: unreadable response", chain=self.chain, method=path
            ) from exc
        if data.get("status") not in ("OK", None):
            raise NodeUnavailable(
                f"monerod /{path}: {data.get('status')}", chain=self.chain, method=path
            )
        return data
