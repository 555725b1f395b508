"""The funded-order core on its own: the one transition, its audit row and its webhook
outbox row in one transaction, and the tables every funded model declares."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from exchange.errors import ApplicationError, NotFoundError
from funding.models import EventKind, FundingEvent, FundingState, funded_models
from funding.services import retry_payout
from funding.states import StateConflict, note, transition
from orders.models import EscrowOrder, OrderState
from tests.people import make_person
from wallets.models import OwnerKind, PayoutKind
from webhooks.models import WebhookEndpoint, WebhookEvent


class RolledBack(Exception):
    pass


def _order(buyer, vendor) -> EscrowOrder:
    return EscrowOrder.objects.create(
        buyer=buyer,
        vendor=vendor,
        currency="BTC",
        amount=100_000,
        fee_bps=100,
        fee_amount=1_000,
        confirmations_required=1,
        expires_at=timezone.now() + timedelta(hours=1),
    )


@pytest.mark.parametrize("model", list(funded_models().values()), ids=lambda m: m.OWNER_KIND)
def test_every_funded_model_declares_tables_its_transitions_allow(model):
    table = model.TRANSITIONS
    assert model.OWNER_KIND in OwnerKind.values
    assert {
        FundingState.AWAITING_DEPOSIT,
        FundingState.CONFIRMING,
        FundingState.EXPIRED,
        FundingState.FAILED,
    } <= set(table)
    for state in model.HOLDABLE_STATES:
        assert FundingState.ON_HOLD in table[state]
    assert table[FundingState.ON_HOLD] == set(model.HOLDABLE_STATES)
    for state, kinds in model.PAYOUT_KINDS.items():
        assert set(kinds) <= set(PayoutKind.values)
        if state != FundingState.FAILED:
            assert FundingState.FAILED in table[state], state
    for kind, paying in model.PAYING_STATE_OF_KIND.items():
        assert paying in table[FundingState.FAILED], kind
    for moves in (model.RELAYED_TO, model.CONFIRMED_TO):
        for state, to_state in moves.items():
            assert to_state in table[state], (state, to_state)


def test_a_transition_writes_its_event_and_its_webhook_in_its_transaction(live_db):
    buyer, vendor = make_person().user, make_person().user
    order = _order(buyer, vendor)
    WebhookEndpoint.objects.create(owner=buyer, url="https://hooks.example/x", secret="s")
    seen = {}

    def move_then_roll_back():
        with transaction.atomic():
            seen["event"] = transition(order, FundingState.CONFIRMING, reason="seen")
            seen["events"] = list(order.events.values_list("id", flat=True))
            seen["published"] = list(
                WebhookEvent.objects.filter(type="order.state_changed", data__order=order.id)
            )
            raise RolledBack

    with pytest.raises(RolledBack):
        move_then_roll_back()
    event = seen["event"]
    assert (event.owner_kind, event.owner_id, event.kind) == ("order", order.id, "transition")
    assert (event.from_state, event.to_state) == ("awaiting_deposit", "confirming")
    assert seen["events"] == [event.id]
    assert [p.data for p in seen["published"]] == [
        {"order": order.id, "from": "awaiting_deposit", "to": "confirming", "event": event.id}
    ]
    assert not FundingEvent.objects.filter(owner_kind="order", owner_id=order.id).exists()
    assert not WebhookEvent.objects.filter(data__order=order.id).exists()
    assert EscrowOrder.objects.get(id=order.id).state == FundingState.AWAITING_DEPOSIT


def test_a_transition_from_a_stale_state_changes_nothing(live_db):
    order = _order(make_person().user, make_person().user)
    EscrowOrder.objects.filter(id=order.id).update(state=FundingState.CONFIRMING)
    with pytest.raises(StateConflict):
        transition(order, FundingState.EXPIRED, reason="not paid in time")
    with pytest.raises(StateConflict):
        transition(order, OrderState.ESCROWED)  # not allowed from awaiting_deposit
    assert EscrowOrder.objects.get(id=order.id).state == FundingState.CONFIRMING
    assert not order.events.exists()


def test_a_note_keeps_the_state_and_names_its_kind(live_db):
    order = _order(make_person().user, make_person().user)
    row = note(order, kind=EventKind.OVERPAID, data={"excess": "5"})
    assert (row.from_state, row.to_state, row.kind) == (order.state, order.state, "overpaid")
    with pytest.raises(ValueError, match="not_a_kind"):
        note(order, kind="not_a_kind")


def test_a_payout_retry_is_refused_without_a_reason_or_a_payout(live_db):
    staff = make_person(staff=True).user
    with pytest.raises(ApplicationError) as refused:
        retry_payout(payout_id=1, actor=staff, reason=" ")
    assert refused.value.field == "reason"
    with pytest.raises(NotFoundError):
        retry_payout(payout_id=10**15, actor=staff, reason="the node is back")
