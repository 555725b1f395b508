"""The tables of allowed escrow and swap transitions (orders/models.py, swaps/models.py), and the one
function that applies them (funding/states.py)."""

from __future__ import annotations

import pytest

from funding.models import ADVANCE, APPLY_DEPOSITS, LIFECYCLE, FundingState
from funding.states import StateConflict, transition
from orders.models import (
    HELD_STATES,
    ORDER_STATE_CHOICES,
    ORDER_TRANSITIONS,
    PAYING_STATES,
    TERMINAL_ORDER_STATES,
    EscrowOrder,
    OrderState,
)
from swaps.models import SWAP_STATE_CHOICES, SWAP_TRANSITIONS, SwapOrder, SwapState
from swaps.services.exchange import CREDITED_STATES
from tests.fast.tables import reachable
from wallets.models import PayoutKind

ON_HOLD = "on_hold"
ORDER_STATES = {state for state, _ in ORDER_STATE_CHOICES}
SWAP_STATES = {state for state, _ in SWAP_STATE_CHOICES}
TABLES = {
    "order": (
        ORDER_TRANSITIONS,
        ORDER_STATES,
        EscrowOrder.HOLDABLE_STATES,
        FundingState.AWAITING_DEPOSIT,
    ),
    "swap": (
        SWAP_TRANSITIONS,
        SWAP_STATES,
        SwapOrder.HOLDABLE_STATES,
        FundingState.AWAITING_DEPOSIT,
    ),
}
ORDER_TERMINAL = {
    FundingState.COMPLETED,
    FundingState.REFUNDED,
    FundingState.EXPIRED,
    OrderState.CANCELLED,
}
SWAP_TERMINAL = {FundingState.COMPLETED, FundingState.REFUNDED}


@pytest.mark.parametrize("name", TABLES)
def test_every_state_has_a_row_and_every_target_is_a_state(name):
    table, states, _, _ = TABLES[name]

    assert set(table) == states
    for targets in table.values():
        assert targets <= states


@pytest.mark.parametrize("name", TABLES)
def test_no_state_goes_to_itself(name):
    table = TABLES[name][0]

    assert [s for s, targets in table.items() if s in targets] == []


@pytest.mark.parametrize("name", TABLES)
def test_every_state_is_reachable_from_a_new_one(name):
    table, states, _, start = TABLES[name]

    assert reachable(table, start) == states


@pytest.mark.parametrize("name", TABLES)
def test_from_every_state_a_terminal_state_can_still_be_reached(name):
    table = TABLES[name][0]
    terminal = {s for s, targets in table.items() if not targets}

    for state in table:
        assert reachable(table, state) & terminal, state


def test_the_terminal_states_are_exactly_the_closed_ones_and_have_no_exit():
    assert set(TERMINAL_ORDER_STATES) == ORDER_TERMINAL
    assert {s for s, targets in SWAP_TRANSITIONS.items() if not targets} == SWAP_TERMINAL
    for state in ORDER_TERMINAL:
        assert ORDER_TRANSITIONS[state] == set()
    for state in SWAP_TERMINAL:
        assert SWAP_TRANSITIONS[state] == set()


@pytest.mark.parametrize("name", TABLES)
def test_on_hold_returns_only_to_a_holdable_state_and_only_those_are_held(name):
    table, _, holdable, _ = TABLES[name]

    assert table[ON_HOLD] == set(holdable)
    assert {s for s, targets in table.items() if ON_HOLD in targets} == set(holdable)
    assert ON_HOLD not in holdable


@pytest.mark.parametrize("name", TABLES)
def test_nothing_unpaid_or_closed_is_ever_held(name):
    table, states, holdable, start = TABLES[name]
    closed = {s for s, targets in table.items() if not targets}

    assert start not in holdable
    assert not holdable & closed


def test_an_unpaid_order_cannot_be_released_refunded_or_split():
    for unpaid in (FundingState.AWAITING_DEPOSIT, FundingState.CONFIRMING):
        assert not ORDER_TRANSITIONS[unpaid] & PAYING_STATES


def test_an_order_pays_out_only_from_held_funds_a_failure_or_a_hold():
    into_paying = {s for s, targets in ORDER_TRANSITIONS.items() if targets & PAYING_STATES}

    assert into_paying == set(HELD_STATES) | {FundingState.FAILED, FundingState.ON_HOLD}


def test_only_a_cancellation_or_an_expiry_closes_an_order_without_a_payout():
    into_closed_unpaid = {
        s
        for s, targets in ORDER_TRANSITIONS.items()
        if targets & {FundingState.EXPIRED, OrderState.CANCELLED}
    }

    assert into_closed_unpaid == {FundingState.AWAITING_DEPOSIT}


def test_a_swap_exchanges_only_after_its_deposit_was_credited_or_from_its_own_hold():
    into_exchanging = {
        s for s, targets in SWAP_TRANSITIONS.items() if SwapState.EXCHANGING in targets
    }

    assert into_exchanging == {
        FundingState.CONFIRMING,
        SwapState.ACTION_REQUIRED,
        FundingState.ON_HOLD,
    }


def test_the_swap_states_counted_as_credited_are_never_before_a_credit():
    before_credit = {FundingState.AWAITING_DEPOSIT, FundingState.CONFIRMING, FundingState.EXPIRED}

    assert not CREDITED_STATES & before_credit
    assert reachable(SWAP_TRANSITIONS, SwapState.EXCHANGING) >= CREDITED_STATES


# --- the function applying the table -------------------------------------------------


def row(state: str) -> EscrowOrder:
    """An order not saved: transition() refuses before it touches the database."""
    return EscrowOrder(id=1, state=state)


@pytest.mark.parametrize("state", sorted(ORDER_TERMINAL))
def test_a_transition_out_of_a_terminal_state_is_a_conflict(state):
    for target in ORDER_STATES:
        with pytest.raises(StateConflict):
            transition(row(state), target)


def test_a_transition_the_table_allows_is_refused_outside_the_actions_allowed_from():
    disputed = row(OrderState.DISPUTED)

    with pytest.raises(StateConflict) as refused:
        transition(disputed, OrderState.RELEASING, allowed_from={OrderState.ESCROWED})
    assert refused.value.extra == {"state": OrderState.DISPUTED}
    assert disputed.state == OrderState.DISPUTED


def test_an_unknown_state_has_no_row():
    with pytest.raises(KeyError):
        transition(row("paid_somehow"), OrderState.RELEASING)


@pytest.mark.parametrize("name", TABLES)
def test_every_table_holds_the_shared_lifecycle(name):
    table = TABLES[name][0]

    for state, targets in LIFECYCLE.items():
        assert targets <= table[state], state


def test_each_state_follows_the_payout_kinds_the_core_makes_from_the_declarations():
    release, refund = PayoutKind.RELEASE, PayoutKind.REFUND
    split = (PayoutKind.SPLIT_VENDOR, PayoutKind.SPLIT_BUYER)

    assert {
        OrderState.RELEASING: (release,),
        OrderState.RELEASED: (release,),
        FundingState.REFUNDING: (refund,),
        OrderState.SPLITTING: split,
        FundingState.FAILED: (release, *split, refund),
    } == EscrowOrder.PAYOUT_KINDS
    assert {
        SwapState.SENDING: (PayoutKind.SWAP,),
        FundingState.REFUNDING: (refund,),
        FundingState.FAILED: (PayoutKind.SWAP, refund),
    } == SwapOrder.PAYOUT_KINDS
    assert EscrowOrder.task(APPLY_DEPOSITS) == "orders.apply_deposits"
    assert SwapOrder.task(ADVANCE) == "swaps.advance"
