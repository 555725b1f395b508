"""What both node clients share: typed errors, the timed HTTP session, call counting.

Errors say whether to retry:
- ``RetryLater`` and its subclasses (``NodeUnavailable``: refused, timeout, 5xx without a
  known meaning; ``FundsLocked``: coins exist but cannot be spent yet) are transient.
  ``OutcomeUnknown`` is the transient error of a spend that may have happened: the caller
  must ask the node about the stored txid, never build a second transaction.
- ``NodeRejected`` and its subclasses are definitive: retrying cannot help.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

logger = logging.getLogger(__name__)


class NodeError(Exception):
    """Base of every node error."""

    def __init__(self, message: str, *, chain: str = "", method: str = "", code: Any = None):
        super().__init__(message)
        self.chain = chain
        self.method = method
        self.code = code


class RetryLater(NodeError):
    """Transient: the same call may succeed later."""


class NodeUnavailable(RetryLater):
    """The node could not be reached, timed out, or failed without a definitive answer."""


class OutcomeUnknown(NodeUnavailable):
    """A spend call timed out, lost its answer or failed without saying why: it may or may
    not have happened. Ask the node about the stored txid; never build a second one."""


class UnclearAnswer(RetryLater):
    """The node answered with an error this engine does not understand: not a rejection."""


class FundsLocked(RetryLater):
    """The account holds the funds but they are not spendable yet (Monero unlock time)."""


class WalletNotOpen(RetryLater):
    """monero-wallet-rpc has no wallet open (it was restarted)."""


class NodeRejected(NodeError):
    """Definitive: the node refused the request and will refuse it again."""


class InvalidAddress(NodeRejected):
    pass


class InvalidAmount(NodeRejected):
    pass


class InsufficientFunds(NodeRejected):
    pass


class UnknownAccount(NodeRejected):
    pass


class AccountExists(NodeRejected):
    pass


class TxRejected(NodeRejected):
    """A transaction was refused (e.g. its inputs are already spent)."""


class NotFound(NodeRejected):
    pass


class WalletExists(NodeRejected):
    pass


# --- what a node says of a stored transaction ----------------------------------------


@dataclass(frozen=True)
class TxStatus:
    """A node's answer about one transaction of ours.

    ``state`` is
    - ``confirmed``: in a block (``confirmations`` counts them);
    - ``mempool``: the node relays it;
    - ``pending``: the node does not relay it now, but the wallet still holds it as its own
      unconfirmed spend (it may send it again, as bcoin does when it starts);
    - ``conflicted``: another transaction spent one of its inputs (``evidence`` says which);
      ``final`` when that spend is in a block: it can never land while that block stands;
    - ``absent``: neither the node nor the wallet has it, and its inputs are unspent (the
      same bytes may be relayed again).
    ``txid`` is the transaction asked about.
    """

    state: str
    confirmations: int = 0
    evidence: str = ""
    final: bool = False
    txid: str = ""

    @property
    def on_node(self) -> bool:
        return self.state in ("confirmed", "mempool")


# --- node call counting -------------------------------------------------------------

_calls: collections.Counter[tuple[str, str]] = collections.Counter()
_calls_lock = threading.Lock()


def count_call(chain: str, method: str) -> None:
    """Count a node call in this process and in the shared /metrics series."""
    with _calls_lock:
        _calls[(chain, method)] += 1
    from exchange.metrics import NODE_CALLS, metric_incr

    NODE_CALLS.labels(chain=chain, method=method).inc()
    metric_incr("node_calls", {"chain": chain, "method": method})


def node_calls(chain: str | None = None) -> int:
    """Node calls made by this process so far (all chains, or one)."""
    with _calls_lock:
        return sum(n for (c, _m), n in _calls.items() if chain is None or c == chain)


def node_calls_by_method() -> dict[str, int]:
    with _calls_lock:
        return {f"{c}.{m}": n for (c, m), n in sorted(_calls.items())}


# --- HTTP -------------------------------------------------------------------------


def new_session(*, auth: tuple[str, str] | None = None, pool_size: int = 8) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if auth:
        session.auth = auth
    return session


def decode_json(response: requests.Response) -> Any:
    """Parse a node response; every non-integer number becomes a Decimal, never a float."""
    if not response.content:
        return None
    return json.loads(response.content, parse_float=Decimal)


class HttpNode:
    """A node endpoint: one keep-alive session, connect and read timeouts on every call.

    (monero-wallet-rpc truncates big responses for clients that close the connection, so
    a keep-alive session is also a correctness requirement there.)
    """

    chain = ""

    def __init__(
        self, *, connect_timeout: float, read_timeout: float, auth: tuple[str, str] | None = None
    ):
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.session = new_session(auth=auth)

    def http(
        self,
        verb: str,
        url: str,
        *,
        method: str,
        json_body: Any = None,
        params: dict | None = None,
        read_timeout: float | None = None,
        spend: bool = False,
        auth: AuthBase | None = None,
    ) -> requests.Response:
        """One counted HTTP call. ``spend`` marks calls whose timeout means "unknown";
        ``auth`` replaces the session's login for this call."""
        count_call(self.chain, method)
        timeout = (self.connect_timeout, read_timeout or self.read_timeout)
        try:
            return self.session.request(
                verb, url, json=json_body, params=params, timeout=timeout, auth=auth
            )
        except requests.ConnectTimeout as exc:
            raise NodeUnavailable(
                f"{self.chain} node: connect timeout", chain=self.chain, method=method
            ) from exc
        except requests.ReadTimeout as exc:
            cls = OutcomeUnknown if spend else NodeUnavailable
            raise cls(f"{self.chain} node: read timeout", chain=self.chain, method=method) from exc
        except requests.ConnectionError as exc:
            # A connection dropped mid-request after it was sent is also "unknown" for a spend.
            cls = OutcomeUnknown if spend and _sent(exc) else NodeUnavailable
            raise cls(
                f"{self.chain} node unreachable: {exc.__class__.__name__}",
                chain=self.chain,
                method=method,
            ) from exc
        except requests.RequestException as exc:
            raise NodeUnavailable(
                f"{self.chain} node: {exc}", chain=self.chain, method=method
            ) from exc


def _sent(exc: requests.ConnectionError) -> bool:
    text = str(exc)
    return "Connection refused" not in text and "Failed to establish" not in text
