"""The books checked against the chain after money tests (operations.books, read from the
nodes), and the proof figures measured the same way."""

from __future__ import annotations

import time

from operations.books import books_check, payments_measured
from wallets.clients.base import RetryLater
from wallets.models import Chain
from wallets.services import deposits_scan
from wallets.services.payouts import payouts_sweep


def _key(finding) -> tuple:
    return (finding.chain, finding.kind, finding.subject)


def violations() -> dict[tuple, str]:
    """Every violation the checker finds now, keyed by (chain, kind, subject)."""
    return {
        _key(f): f.detail
        for report in books_check(chains=list(Chain.values))
        for f in report.violations
    }


def assert_books_clean(
    *, ignore: dict | None = None, tolerate: set[str] | None = None, timeout: float = 40.0
) -> dict:
    """Check, and while something new is found, scan, follow payouts and check again: a
    payout relayed between two node reads shows once and is gone at the next pass; what
    stays is a real finding and fails the test. ``ignore``: findings that were there before
    the test began; ``tolerate``: kinds of finding a test makes on purpose (an out-of-band
    spend). Returns every violation found at the end."""
    ignore = ignore or {}
    tolerate = tolerate or set()
    deadline = time.monotonic() + timeout
    while True:
        now = violations()
        found = {k: v for k, v in now.items() if ignore.get(k) != v and k[1] not in tolerate}
        if not found:
            return now
        if time.monotonic() > deadline:
            lines = "\n".join(
                f"  {chain} {kind} {subject}: {detail}"
                for (chain, kind, subject), detail in sorted(found.items())
            )
            raise AssertionError(f"the books disagree with the chain:\n{lines}")
        for chain in Chain.values:
            try:
                deposits_scan(chain=chain)
            except RetryLater:
                pass  # a node that says "later": the next pass scans again
        payouts_sweep()
        time.sleep(1.0)


def node_spend(payout):
    """The node's own record of a payout's transaction (fee, what it paid where)."""
    from operations.books import node_spends
    from wallets.models import WalletAccount

    wallet = payout.source_account.master_wallet
    addresses = set(
        WalletAccount.objects.filter(master_wallet=wallet).values_list("address", flat=True)
    )
    return next((s for s in node_spends(wallet, addresses) if s.txid == payout.txid), None)


def measured(chain: str, expected, forbidden=()) -> dict:
    """Proof figures read from the node: ``expected`` is a list of (source account,
    destination address) the scenario asked to be paid, ``forbidden`` those it must not
    pay (counted as duplicated if the node shows them)."""
    return payments_measured(chain=chain, expected=expected, forbidden=forbidden)
