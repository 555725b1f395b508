"""The payout and account lifecycles (wallets/models.py)."""

from __future__ import annotations

import pytest

from tests.fast.tables import reachable
from wallets.models import (
    ACCOUNT_TRANSITIONS,
    ACTIVE_PAYOUT_STATES,
    PAYOUT_TRANSITIONS,
    TRACKED_PAYOUT_STATES,
    AccountState,
    PayoutState,
)

TABLES = {
    "payout": (PAYOUT_TRANSITIONS, PayoutState),
    "account": (ACCOUNT_TRANSITIONS, AccountState),
}


@pytest.mark.parametrize("name", TABLES)
def test_every_state_has_a_row_every_target_is_a_state_and_none_loops(name):
    table, states = TABLES[name]

    assert set(table) == set(states.values)
    for state, targets in table.items():
        assert targets <= set(states.values)
        assert state not in targets


def test_every_payout_state_is_reachable_from_pending():
    assert reachable(PAYOUT_TRANSITIONS, PayoutState.PENDING) == set(PayoutState.values)


def test_a_payout_is_signed_only_from_pending_or_a_staff_retry_of_a_failed_one():
    into_signed = {s for s, targets in PAYOUT_TRANSITIONS.items() if PayoutState.SIGNED in targets}

    assert into_signed == {PayoutState.PENDING, PayoutState.FAILED}


def test_a_payout_goes_back_to_be_built_only_from_a_hold_or_a_staff_retry():
    into_pending = {
        s for s, targets in PAYOUT_TRANSITIONS.items() if PayoutState.PENDING in targets
    }

    assert into_pending == {PayoutState.HELD, PayoutState.FAILED}


def test_only_a_payout_not_built_yet_is_held_and_a_hold_only_resumes():
    into_held = {s for s, targets in PAYOUT_TRANSITIONS.items() if PayoutState.HELD in targets}

    assert into_held == {PayoutState.PENDING}
    assert PAYOUT_TRANSITIONS[PayoutState.HELD] == {PayoutState.PENDING}


def test_a_voided_payout_is_never_rebuilt_or_retried_only_seen_on_chain():
    assert PAYOUT_TRANSITIONS[PayoutState.VOIDED] == {PayoutState.RELAYED}
    into_voided = {s for s, targets in PAYOUT_TRANSITIONS.items() if PayoutState.VOIDED in targets}
    assert into_voided == {PayoutState.RELAYED, PayoutState.FAILED}


def test_a_confirmed_payout_can_only_lose_its_confirmation_to_a_reorg():
    assert PAYOUT_TRANSITIONS[PayoutState.CONFIRMED] == {PayoutState.RELAYED}


def test_every_state_whose_transaction_may_exist_is_tracked():
    built = reachable(PAYOUT_TRANSITIONS, PayoutState.SIGNED) - {
        PayoutState.PENDING,
        PayoutState.HELD,
    }

    assert set(TRACKED_PAYOUT_STATES) == built
    assert PayoutState.HELD not in ACTIVE_PAYOUT_STATES
    assert PayoutState.CONFIRMED not in ACTIVE_PAYOUT_STATES


def test_an_account_is_never_handed_out_twice():
    assert ACCOUNT_TRANSITIONS[AccountState.RETIRED] == set()
    for after in (AccountState.ASSIGNED, AccountState.RETIRED):
        assert AccountState.POOLED not in reachable(ACCOUNT_TRANSITIONS, after)
        assert AccountState.CREATING not in reachable(ACCOUNT_TRANSITIONS, after)
    assert reachable(ACCOUNT_TRANSITIONS, AccountState.CREATING) == set(AccountState.values)
