"""Refunds of invoices through their services against the in-memory chain: what may be
refunded and from where, the amount set aside in the ledger, the rest left to the store,
one claim and one payout, and the staff approval above the threshold (approved: paid;
rejected: the money back where it came from)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from exchange.errors import ApplicationError, ConflictError
from funding.models import FundingState
from invoices.models import InvoiceStatus, PaymentPrompt, PromptState, Refund, RefundState
from invoices.services import (
    RefundAsk,
    invoice_create,
    invoice_mark,
    refund_cancel,
    refund_claim,
    refund_create,
)
from invoices.services.refunds import NonRefundable
from ownership.models import LedgerBalance
from staff.models import ApprovalState
from staff.services.approvals import approval_decide, approval_request
from staff.services.authorize import StaffPermissionDenied
from stores.models import Settlement, Store
from tests.fast import invoice_flows
from tests.fast.invoice_flows import APPROVAL_ABOVE, expire, partly_paid, prompt_of, step
from wallets.models import Payout
from wallets.services import deposits_scan

pytestmark = pytest.mark.django_db

# The in-memory bitcoin chain and a store taking it (tests.fast.invoice_flows).
chain, store = invoice_flows.chain, invoice_flows.store

CUSTOMER = "fake1customer"
ABOVE = APPROVAL_ABOVE


def _held(account: str) -> int:
    row = LedgerBalance.objects.filter(currency="BTC", account=account).first()
    return row.balance if row else 0


def _payouts(prompt: PaymentPrompt) -> list[tuple[str, str, int]]:
    return sorted(
        Payout.objects.filter(owner_kind="prompt", owner_id=prompt.id).values_list(
            "kind", "address", "amount"
        )
    )


def test_an_expired_partial_invoice_is_refunded_once_to_the_address_claimed(chain, store):
    invoice = partly_paid(chain, store, 60_000)
    prompt = prompt_of(invoice)

    refund = refund_create(invoice_id=invoice.id, ask=RefundAsk(variant="RateThen"))

    assert (refund.amount, refund.source, refund.state) == (
        60_000,
        f"customer:prompt:{prompt.id}",
        "open",
    )
    assert _held(refund.holder) == 60_000
    assert _held(refund.source) == 0
    assert prompt_of(invoice).state == FundingState.REFUNDING
    assert _payouts(prompt) == []

    refund_claim(public_id=refund.public_id, address=f"  {CUSTOMER}  ")
    with pytest.raises(ConflictError):
        refund_claim(public_id=refund.public_id, address="fake1someoneelse")

    refund.refresh_from_db()
    assert (refund.state, refund.address) == (RefundState.PAYING, CUSTOMER)
    assert _payouts(prompt) == [("refund", CUSTOMER, 60_000)]
    assert refund.payout.key == f"prompt_{prompt.id}:refund:{refund.id}"
    assert _held(refund.holder) == 0


def test_a_refund_in_part_leaves_the_rest_to_the_store_less_the_fee(chain, store):
    invoice = partly_paid(chain, store, 600_000, price="0.01")
    prompt = prompt_of(invoice)

    refund = refund_create(
        invoice_id=invoice.id,
        ask=RefundAsk(variant="RateThen", subtract_percentage=Decimal("25")),
    )

    assert refund.amount == 450_000
    # The store's 150,000 sat, less the platform's 1 %.
    assert _payouts(prompt) == [("settle", "fake1merchant", 148_500)]
    refund_claim(public_id=refund.public_id, address=CUSTOMER)
    assert _payouts(prompt) == [
        ("refund", CUSTOMER, 450_000),
        ("settle", "fake1merchant", 148_500),
    ]
    assert _held(f"customer:prompt:{prompt.id}") == 0


def test_a_late_payment_is_refunded_and_never_settled_after(chain, store):
    invoice = expire(invoice_create(store=store, amount="0.001", currency="BTC"))
    chain.pay(prompt_of(invoice).account.address, 100_000)
    invoice = step(chain, invoice)
    assert invoice.additional_status == "PaidLate"

    refund = refund_create(invoice_id=invoice.id, ask=RefundAsk(variant="CurrentRate"))
    invoice_mark(invoice_id=invoice.id, status="Settled")

    assert refund.amount == 100_000  # priced in BTC: the rate now is the rate then
    assert _payouts(prompt_of(invoice)) == []


def test_a_balance_store_refunds_from_the_merchants_balance_that_invoice_credited(chain, store):
    Store.objects.filter(id=store.id).update(settlement=Settlement.BALANCE)
    store.refresh_from_db()
    first = invoice_create(store=store, amount="0.001", currency="BTC")
    chain.pay(prompt_of(first).account.address, 100_000)
    assert step(chain, first).status == InvoiceStatus.SETTLED
    second = invoice_create(store=store, amount="0.002", currency="BTC")
    chain.pay(prompt_of(second).account.address, 200_000)
    step(chain, second)
    merchant = f"merchant:{store.owner_id}"
    assert _held(merchant) == 300_000

    # Only what the first invoice credited can be paid from its deposit account.
    with pytest.raises(ApplicationError) as over:
        refund_create(
            invoice_id=first.id,
            ask=RefundAsk(variant="Custom", custom_amount=Decimal("0.0011"), custom_currency="BTC"),
        )
    assert over.value.field == "customAmount"
    refund = refund_create(invoice_id=first.id, ask=RefundAsk(variant="RateThen"))

    assert (refund.source, _held(merchant)) == (merchant, 200_000)
    with pytest.raises(ApplicationError) as again:
        refund_create(invoice_id=first.id, ask=RefundAsk(variant="RateThen"))
    assert again.value.field == "refundVariant"
    refund_claim(public_id=refund.public_id, address=CUSTOMER)
    assert _payouts(prompt_of(first)) == [("refund", CUSTOMER, 100_000)]


def test_an_invoice_paid_to_the_stores_address_or_not_paid_is_not_refundable(chain, store):
    paid = invoice_create(store=store, amount="0.001", currency="BTC")
    chain.pay(prompt_of(paid).account.address, 100_000)
    assert step(chain, paid).status == InvoiceStatus.SETTLED
    unpaid = invoice_create(store=store, amount="0.001", currency="BTC")
    expired = expire(invoice_create(store=store, amount="0.001", currency="BTC"))

    for invoice in (paid, unpaid, expired):
        with pytest.raises(NonRefundable):
            refund_create(invoice_id=invoice.id, ask=RefundAsk(variant="RateThen"))
    assert prompt_of(paid).state == PromptState.SETTLING


def test_bad_requests_name_their_field_and_write_nothing(chain, store):
    invoice = partly_paid(chain, store, 60_000)
    asks = {
        "refundVariant": RefundAsk(variant=""),
        "customAmount": RefundAsk(
            variant="Custom", custom_amount=Decimal("0.0007"), custom_currency="BTC"
        ),
        "payoutMethodId": RefundAsk(variant="RateThen", payment_method="XMR-CHAIN"),
        "subtractPercentage": RefundAsk(variant="RateThen", subtract_percentage=Decimal(101)),
    }
    for field, ask in asks.items():
        with pytest.raises(ApplicationError) as refused:
            refund_create(invoice_id=invoice.id, ask=ask)
        assert refused.value.field == field
    assert not invoice.refunds.exists()
    assert prompt_of(invoice).state == PromptState.PAID
    assert _held(f"customer:prompt:{prompt_of(invoice).id}") == 60_000


def test_a_claim_to_an_address_of_another_coin_is_refused_and_the_refund_stays_open(chain, store):
    invoice = partly_paid(chain, store, 60_000)
    refund = refund_create(invoice_id=invoice.id, ask=RefundAsk(variant="RateThen"))

    with pytest.raises(ApplicationError) as refused:
        refund_claim(public_id=refund.public_id, address="bc1qnotthischain")
    assert refused.value.field == "address"
    refund.refresh_from_db()
    assert (refund.state, refund.address) == (RefundState.OPEN, "")


def _approver():
    user = get_user_model().objects.create_user(username="approver", password=None, is_staff=True)
    user.groups.add(Group.objects.get(name="approver"))
    return user


def test_above_the_threshold_a_claim_waits_for_approval_then_is_paid_once(chain, store):
    invoice = partly_paid(chain, store, ABOVE + 1, price="0.02")
    refund = refund_create(invoice_id=invoice.id, ask=RefundAsk(variant="RateThen"))

    refund_claim(public_id=refund.public_id, address=CUSTOMER)

    refund.refresh_from_db()
    approval = refund.approval
    assert (refund.state, approval.state) == (RefundState.AWAITING_APPROVAL, ApprovalState.PENDING)
    assert (approval.action, approval.owner_id, approval.amount) == (
        "invoice_refund",
        prompt_of(invoice).id,
        ABOVE + 1,
    )
    assert _payouts(prompt_of(invoice)) == []
    with pytest.raises(StaffPermissionDenied):
        approval_decide(approval_id=approval.id, actor=store.owner, approve=True, reason="mine")

    approval_decide(approval_id=approval.id, actor=_approver(), approve=True, reason="checked")

    refund.refresh_from_db()
    assert refund.state == RefundState.PAYING
    assert _payouts(prompt_of(invoice)) == [("refund", CUSTOMER, ABOVE + 1)]


def test_a_rejected_claim_pays_nothing_and_gives_the_money_back(chain, store):
    invoice = partly_paid(chain, store, ABOVE + 1, price="0.02")
    prompt = prompt_of(invoice)
    refund = refund_create(invoice_id=invoice.id, ask=RefundAsk(variant="RateThen"))
    refund_claim(public_id=refund.public_id, address=CUSTOMER)
    refund.refresh_from_db()

    approval_decide(approval_id=refund.approval_id, actor=_approver(), approve=False, reason="no")

    refund.refresh_from_db()
    assert refund.state == RefundState.REJECTED
    assert _payouts(prompt) == []
    assert _held(refund.holder) == 0
    assert _held(f"customer:prompt:{prompt.id}") == ABOVE + 1
    # The store may ask again; the money is still there to refund.
    again = refund_create(invoice_id=invoice.id, ask=RefundAsk(variant="RateThen"))
    assert again.amount == ABOVE + 1


def test_while_a_credited_deposit_is_off_the_chain_nothing_is_refunded(chain, store):
    invoice = partly_paid(chain, store, 60_000)
    refund = refund_create(invoice_id=invoice.id, ask=RefundAsk(variant="RateThen"))
    chain.deposits[-1].height = None  # a reorg: back in the mempool
    deposits_scan(chain="bitcoin")

    with pytest.raises(ConflictError):
        refund_claim(public_id=refund.public_id, address=CUSTOMER)
    with pytest.raises(ConflictError):
        refund_create(invoice_id=invoice.id, ask=RefundAsk(variant="RateThen"))

    assert _payouts(prompt_of(invoice)) == []
    chain.mine(1)
    deposits_scan(chain="bitcoin")
    refund_claim(public_id=refund.public_id, address=CUSTOMER)
    assert _payouts(prompt_of(invoice)) == [("refund", CUSTOMER, 60_000)]


def test_the_payout_takes_the_money_from_its_source_so_what_it_leaves_goes_back(chain, store):
    invoice = partly_paid(chain, store, 60_000)
    refund = refund_create(invoice_id=invoice.id, ask=RefundAsk(variant="RateThen"))

    refund_claim(public_id=refund.public_id, address=CUSTOMER)

    refund.refresh_from_db()
    assert refund.payout.ledger_from == refund.source
    assert _held(refund.holder) == 0


def test_a_store_cancels_a_refund_nobody_claimed_and_gets_the_money_back(chain, store):
    invoice = partly_paid(chain, store, 60_000)
    refund = refund_create(invoice_id=invoice.id, ask=RefundAsk(variant="RateThen"))

    refund_cancel(refund_id=refund.id)

    refund.refresh_from_db()
    assert refund.state == RefundState.CANCELLED
    assert (_held(refund.holder), _held(refund.source)) == (0, 60_000)
    with pytest.raises(ConflictError) as late:
        refund_claim(public_id=refund.public_id, address=CUSTOMER)
    assert "cancelled" in late.value.message
    with pytest.raises(ConflictError):
        refund_cancel(refund_id=refund.id)
    assert _payouts(prompt_of(invoice)) == []


def test_claims_each_below_the_threshold_wait_for_approval_once_they_add_up_above(chain, store):
    first, second = (partly_paid(chain, store, 600_000, price="0.01") for _ in range(2))
    refunds = [
        refund_create(invoice_id=invoice.id, ask=RefundAsk(variant="RateThen"))
        for invoice in (first, second)
    ]

    for refund in refunds:
        refund_claim(public_id=refund.public_id, address=CUSTOMER)

    states = [Refund.objects.get(id=r.id).state for r in refunds]
    assert states == [RefundState.PAYING, RefundState.AWAITING_APPROVAL]


def test_staff_cannot_ask_for_a_refund_move_themselves(chain, store):
    invoice = partly_paid(chain, store, ABOVE + 1, price="0.02")
    refund = refund_create(invoice_id=invoice.id, ask=RefundAsk(variant="RateThen"))
    user = _approver()
    user.groups.add(Group.objects.get(name="payments"))

    with pytest.raises(ApplicationError) as refused:
        approval_request(
            action="invoice_refund",
            owner_kind="prompt",
            owner_id=prompt_of(invoice).id,
            actor=user,
            reason="pay it",
            params={"refund_id": refund.id},
        )
    assert refused.value.field == "action"
