"""The bcoin client's transport: HTTP and JSON-RPC calls to the node and the wallet, with
the API key, and the one table from bcoin's error messages to exceptions.
"""

from __future__ import annotations

from typing import Any

from wallets.clients.base import (
    AccountExists,
    HttpNode,
    InsufficientFunds,
    InvalidAddress,
    InvalidAmount,
    NodeRejected,
    NodeUnavailable,
    NotFound,
    TxRejected,
    UnknownAccount,
    decode_json,
)

# bcoin error message (substring) -> exception class. Anything else on a 5xx is transient.
ERRORS: list[tuple[str, type[NodeRejected]]] = [
    ("Non-base58 character", InvalidAddress),
    ("Network mismatch", InvalidAddress),
    ("Invalid address", InvalidAddress),
    ("Invalid bech32", InvalidAddress),
    ("Invalid checksum", InvalidAddress),
    ("Address is required", InvalidAddress),
    ("Not enough funds", InsufficientFunds),
    ("Output is dust", InvalidAmount),
    ("Value is required", InvalidAmount),
    ("Account not found", UnknownAccount),
    ("Account already exists", AccountExists),
    ("EncodingError", TxRejected),
    ("Out of bounds read", TxRejected),
    ("TX is required", TxRejected),
    ("ValidationError", NodeRejected),  # a malformed request: sending it again cannot help
]


class BitcoinRpc(HttpNode):
    """bcoin's node and wallet over HTTP; a node error raises its class in ``ERRORS``."""

    chain = "bitcoin"

    def __init__(
        self,
        *,
        node_url: str,
        wallet_url: str,
        api_key: str,
        wallet_id: str,
        connect_timeout: float,
        read_timeout: float,
    ):
        super().__init__(
            connect_timeout=connect_timeout, read_timeout=read_timeout, auth=("x", api_key)
        )
        self.node_url = node_url.rstrip("/")
        self.wallet_url = wallet_url.rstrip("/")
        self.wallet_id = wallet_id

    def _call(
        self,
        verb: str,
        base: str,
        path: str,
        *,
        method: str,
        body: Any = None,
        params: dict | None = None,
        spend: bool = False,
        read_timeout: float | None = None,
    ) -> Any:
        response = self.http(
            verb,
            f"{base}{path}",
            method=method,
            json_body=body,
            params=params,
            spend=spend,
            read_timeout=read_timeout,
        )
        if response.status_code == 401:
            raise NodeUnavailable("bcoin refused the API key", chain=self.chain, method=method)
        if response.status_code == 404:
            raise NotFound(f"bcoin: {path} not found", chain=self.chain, method=method, code=404)
        try:
            data = decode_json(response)
        except ValueError as exc:
            raise NodeUnavailable(
                f"bcoin: unreadable response ({response.status_code})",
                chain=self.chain,
                method=method,
            ) from exc
        if response.status_code >= 400:
            error = (data or {}).get("error") or {}
            message = f"{error.get('type', '')}: {error.get('message', '')}".strip(": ")
            for needle, cls in ERRORS:
                if needle in message:
                    raise cls(message, chain=self.chain, method=method, code=response.status_code)
            if response.status_code < 500:
                raise NodeRejected(
                    message or str(response.status_code), chain=self.chain, method=method
                )
            raise NodeUnavailable(
                message or f"bcoin HTTP {response.status_code}", chain=self.chain, method=method
            )
        return data

    def _rpc(self, base: str, method: str, params: list) -> Any:
        data = self._call(
            "POST", base, "/", method=method, body={"method": method, "params": params, "id": 1}
        )
        if data.get("error"):
            message = data["error"].get("message", "")
            for needle, cls in ERRORS:
                if needle in message:
                    raise cls(message, chain=self.chain, method=method)
            raise NodeRejected(message, chain=self.chain, method=method)
        return data["result"]

    def _rpc_batch(self, base: str, calls: list[tuple[str, list]]) -> list[Any]:
        """Several JSON-RPC calls in one request (bcoin answers them in order); an error in
        any of them raises as ``_rpc`` would."""
        if not calls:
            return []
        label = "+".join(sorted({method for method, _params in calls}))
        body = [{"method": m, "params": p, "id": i} for i, (m, p) in enumerate(calls)]
        answers = self._call("POST", base, "/", method=label, body=body)
        if not isinstance(answers, list) or len(answers) != len(calls):
            raise NodeUnavailable("bcoin: a batch answered out of shape", chain=self.chain)
        results: list[Any] = [None] * len(calls)
        for answer in answers:
            index = answer.get("id")
            if not isinstance(index, int) or not 0 <= index < len(calls):
                raise NodeUnavailable("bcoin: a batch answered an unknown id", chain=self.chain)
            if answer.get("error"):
                message = answer["error"].get("message", "")
                method = calls[index][0]
                for needle, cls in ERRORS:
                    if needle in message:
                        raise cls(message, chain=self.chain, method=method)
                raise NodeRejected(message, chain=self.chain, method=method)
            results[index] = answer.get("result")
        return results

    def node_rpc(self, method: str, *params: Any) -> Any:
        return self._rpc(self.node_url, method, list(params))

    def wallet_rpc(self, method: str, *params: Any) -> Any:
        return self._rpc(self.wallet_url, method, list(params))

    def _wallet(self, verb: str, path: str, *, wallet_id: str | None = None, **kwargs: Any) -> Any:
        return self._call(
            verb, self.wallet_url, f"/wallet/{wallet_id or self.wallet_id}{path}", **kwargs
        )
