"""Escrow flows and book checks the tests share."""

from __future__ import annotations

from funding.models import FundingState
from orders.models import EscrowOrder, OrderState
from ownership.models import LedgerEntry
from ownership.selectors import ledger_unbalanced_transactions, owner_held
from tests.chain import CHAIN_OF, drive, mine, pay
from wallets.models import Deposit
from wallets.services import balances_sync

AMOUNT = {"BTC": 5_000_000, "XMR": 500_000_000_000}
# Blocks until a deposit of AMOUNT is credited: 1 confirmation; Monero also unlocks at 10.
CREDIT_BLOCKS = {"BTC": 1, "XMR": 10}


def create(person, vendor, currency, amount=None, **extra):
    body = {
        "currency": currency,
        "amount": str(amount or AMOUNT[currency]),
        "vendor": vendor.user.username,
    }
    body.update(extra)
    response = person.api.post("/api/orders", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def state_of(order_id):
    return EscrowOrder.objects.get(id=order_id).state


def pay_and_escrow(order, currency, amount=None):
    chain = CHAIN_OF[currency]
    pay(chain, order["deposit_address"], amount or int(order["amount"]))
    drive(chain, lambda: state_of(order["id"]) == FundingState.CONFIRMING, what="confirming")
    mine(chain, CREDIT_BLOCKS[currency])
    drive(chain, lambda: state_of(order["id"]) == OrderState.ESCROWED, what="escrowed")


def settle(currency, order_id, final_state):
    """Mine until the order's payouts confirm and the order reaches ``final_state``."""
    drive(
        CHAIN_OF[currency],
        lambda: state_of(order_id) == final_state,
        what=final_state,
        mine_each=1,
        timeout=180,
    )


def assert_books_match(order) -> None:
    """The ledger balances, and what it says the order's account holds is what the node
    holds (plus deposits not credited yet)."""
    assert ledger_unbalanced_transactions() == []
    chain = CHAIN_OF[order.currency]
    balances_sync(chain=chain)
    account = order.account
    account.refresh_from_db()
    uncredited = Deposit.objects.filter(account=account, dropped=False, credited_at__isnull=True)
    if chain == "monero":
        uncredited = uncredited.filter(height__isnull=False)
    held = owner_held(owner_kind="order", owner_id=order.id, currency=order.currency)
    legs = list(
        LedgerEntry.objects.filter(
            transaction__owner_kind="order", transaction__owner_id=order.id
        ).values_list("transaction__memo", "account", "debit", "credit")
    )
    assert account.node_balance == held + sum(d.amount for d in uncredited), legs
    assert account.drift == 0
