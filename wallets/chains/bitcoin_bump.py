"""Bitcoin fee bumps: a child that pays for its parent, the payout's transaction, from
the payout's change; and the sizes and fees it is built from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from embit.transaction import Transaction, TransactionInput, TransactionOutput

from wallets.chains.base import BuiltBump, BumpRefused
from wallets.clients.base import NodeRejected, RetryLater
from wallets.clients.bitcoin import BitcoinClient

if TYPE_CHECKING:
    from wallets.models import Payout


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


def payout_bump(client: BitcoinClient, payout: Payout, *, rate: int, dust: int) -> BuiltBump:
    """Child pays for parent: one input, the payout's change output (an output of its
    transaction paying back into the source account), and one output paying that
    value less the child's fee to the same change address. The fee lifts the payout
    and its child together to ``rate`` (the policy's rate now), and the child
    alone pays at least that rate. The destination is paid nothing more: it is
    still the parent's one output to it.

    bcoin 1.0.2 cannot replace a transaction (its mempool refuses any spend of an
    input already spent in the mempool, and transactions that signal replacement
    unless ``replaceByFee`` is on), so a replace-by-fee bump could never be relayed
    through it. The child is signed by the wallet (``POST /wallet/:id/sign``), which
    holds the unconfirmed change as its own coin."""
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
    parent_vsize = vsize(payout.raw_tx)
    if payout.network_fee * 1000 >= rate * parent_vsize:
        raise BumpRefused(
            f"it pays {payout.network_fee * 1000 // parent_vsize} satoshi per 1,000 vB"
            f" already, the policy's rate now is {rate}: a child would not speed it up"
        )
    fee = 0
    # A signature's length varies by a byte: sign until the fee covers the size signed.
    for _ in range(4):
        if value - fee < dust:
            raise BumpRefused(
                f"its change ({value}) cannot pay the {fee} a child needs and keep an"
                f" output of at least {dust}"
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
