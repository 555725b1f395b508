"""Confirmations by amount, the batch that pays an order, paid in time, vanished deposits
and crediting once (funding/services/deposits.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from exchange.config.env import confirmation_table
from funding.services.deposits import (
    confirmations_required,
    creditable,
    deposits_credit,
    paid_in_time,
    reached_at,
    ready_batch,
    vanished,
)
from tests.coins import coin_configured
from wallets.models import AccountState, Deposit, MasterWallet, WalletAccount

NOW = timezone.now()
BTC_TIERS = [(10_000_000, 1), (100_000_000, 2), (None, 6)]
XMR_TIERS = [(1_000_000_000_000, 1), (10_000_000_000_000, 2), (None, 6)]


@pytest.fixture(autouse=True)
def tiers(settings):
    """The default tables, whatever the environment sets."""
    settings.CONFIRMATIONS_REQUIRED = {"bitcoin": BTC_TIERS, "monero": XMR_TIERS}
    coin_configured(settings, "BTC", unlock_blocks=0)
    coin_configured(settings, "XMR", unlock_blocks=10)


def deposit(id=1, amount=1_000, confirmations=0, **fields) -> Deposit:
    """A deposit row not saved (the pure functions read only its fields)."""
    fields.setdefault("height", 100 if confirmations else None)
    fields.setdefault("seen_at", NOW)
    return Deposit(id=id, amount=amount, confirmations=confirmations, **fields)


# --- confirmations by amount ---------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "needed"),
    [
        (0, 1),
        (1, 1),
        (10_000_000, 1),
        (10_000_001, 2),
        (100_000_000, 2),
        (100_000_001, 6),
        (21_000_000 * 10**8, 6),
        (2**63 - 1, 6),
    ],
)
def test_bitcoin_tiers_include_their_limit_and_the_next_satoshi_is_the_next_tier(amount, needed):
    assert confirmations_required(currency="BTC", amount=amount) == needed


@pytest.mark.parametrize(
    ("amount", "needed"),
    [
        (1_000_000_000_000, 1),
        (1_000_000_000_001, 2),
        (10_000_000_000_000, 2),
        (10_000_000_000_001, 6),
        (10**19 - 1, 6),
    ],
)
def test_monero_tiers_include_their_limit_and_the_next_piconero_is_the_next_tier(amount, needed):
    assert confirmations_required(currency="XMR", amount=amount) == needed


def test_the_tier_follows_the_settings_table(settings):
    settings.CONFIRMATIONS_REQUIRED = {
        **settings.CONFIRMATIONS_REQUIRED,
        "bitcoin": [(5, 3), (None, 9)],
    }

    assert confirmations_required(currency="BTC", amount=5) == 3
    assert confirmations_required(currency="BTC", amount=6) == 9


def test_an_unknown_currency_has_no_tier():
    with pytest.raises(KeyError):
        confirmations_required(currency="ETH", amount=1)


@given(st.integers(min_value=0, max_value=10**19), st.integers(min_value=0, max_value=10**19))
def test_more_money_never_needs_fewer_confirmations(a, b):
    low, high = sorted((a, b))
    for currency in ("BTC", "XMR"):
        assert confirmations_required(currency=currency, amount=low) <= confirmations_required(
            currency=currency, amount=high
        )


# --- the settings' table -------------------------------------------------------------


def test_the_table_is_read_from_limit_colon_confirmations_steps(monkeypatch):
    monkeypatch.setenv("CONFIRMATIONS_TEST", " 10:1, 20:3 ,*:5")

    assert confirmation_table("CONFIRMATIONS_TEST", "") == [(10, 1), (20, 3), (None, 5)]


@pytest.mark.parametrize(
    "table",
    [
        "10:1,20:2",  # no catch-all
        "*:2,10:1",  # the catch-all is not last
        "*:1,10:2,*:6",
        "10:1,*",  # no confirmations
        "-10:1,*:2",  # a negative limit
        "10:-1,*:2",  # negative confirmations
        "10:1.5,*:2",
        "ten:1,*:2",
        "",
        "10:0,*:1",  # credited in the mempool
        "*:0",
        "20:1,10:2,*:6",  # limits must rise
        "10:1,10:2,*:6",
        "10:6,*:1",  # a larger amount must not need fewer confirmations
        "10:2,20:1,*:6",
    ],
)
def test_a_table_that_could_credit_too_early_is_refused_at_start_up(monkeypatch, table):
    monkeypatch.setenv("CONFIRMATIONS_TEST", table)

    with pytest.raises(ImproperlyConfigured):
        confirmation_table("CONFIRMATIONS_TEST", "")


# --- creditable ----------------------------------------------------------------------


def test_a_bitcoin_deposit_is_creditable_from_exactly_its_required_confirmations():
    assert not creditable(deposit(confirmations=1), currency="BTC", required=2)
    assert creditable(deposit(confirmations=2), currency="BTC", required=2)
    assert creditable(deposit(confirmations=3), currency="BTC", required=2)


def test_bitcoin_ignores_the_unlock_flag_monero_requires_it():
    assert creditable(deposit(confirmations=6, unlocked=False), currency="BTC", required=6)
    assert not creditable(deposit(confirmations=6, unlocked=False), currency="XMR", required=6)
    assert creditable(deposit(confirmations=10, unlocked=True), currency="XMR", required=6)


def test_an_unlocked_monero_deposit_still_needs_its_confirmations():
    assert not creditable(deposit(confirmations=1, unlocked=True), currency="XMR", required=2)


def test_a_dropped_deposit_is_never_creditable():
    dropped = deposit(confirmations=100, unlocked=True, dropped=True)

    assert not creditable(dropped, currency="BTC", required=1)
    assert not creditable(dropped, currency="XMR", required=1)


# --- the batch that pays an order ----------------------------------------------------


def test_one_deposit_of_the_amount_with_its_tier_is_the_batch():
    paid = deposit(amount=10_000_000, confirmations=1)

    assert ready_batch([paid], currency="BTC", due=10_000_000) == [paid]


def test_one_confirmation_short_is_no_batch():
    paid = deposit(amount=10_000_001, confirmations=1)

    assert ready_batch([paid], currency="BTC", due=10_000_001) == []


def test_one_satoshi_short_of_the_amount_is_no_batch():
    paid = deposit(amount=9_999_999, confirmations=6)

    assert ready_batch([paid], currency="BTC", due=10_000_000) == []


def test_splitting_a_large_payment_into_small_deposits_does_not_lower_its_tier():
    # Each half is in the 1-confirmation tier; together they are in the 2-confirmation tier.
    halves = [deposit(1, 6_000_000, 1), deposit(2, 6_000_000, 1)]

    assert ready_batch(halves, currency="BTC", due=12_000_000) == []
    halves[0].confirmations = halves[1].confirmations = 2
    assert ready_batch(halves, currency="BTC", due=12_000_000) == halves


def test_the_batch_waits_for_its_least_confirmed_member():
    parts = [deposit(1, 5_000_000, 3), deposit(2, 5_000_000, 0)]

    assert ready_batch(parts, currency="BTC", due=10_000_000) == []


def test_an_extra_deposit_is_left_out_of_the_batch_to_be_credited_at_its_own_tier():
    paid = deposit(1, 5_000_000, 3)
    extra = deposit(2, 500_000_000, 1)

    assert ready_batch([extra, paid], currency="BTC", due=5_000_000) == [paid]


def test_dropped_and_already_credited_deposits_never_count_towards_the_amount():
    gone = deposit(1, 10_000_000, 6, dropped=True)
    credited = deposit(2, 10_000_000, 6, credited_at=NOW)

    assert ready_batch([gone, credited], currency="BTC", due=10_000_000) == []


def test_a_monero_batch_waits_for_every_member_to_unlock():
    parts = [deposit(1, 10**11, 12, unlocked=True), deposit(2, 10**11, 12, unlocked=False)]

    assert ready_batch(parts, currency="XMR", due=2 * 10**11) == []
    parts[1].unlocked = True
    assert ready_batch(parts, currency="XMR", due=2 * 10**11) == parts


deposits_strategy = st.lists(
    st.builds(
        dict,
        amount=st.integers(min_value=1, max_value=300_000_000),
        confirmations=st.integers(min_value=0, max_value=8),
        dropped=st.booleans(),
        credited=st.booleans(),
    ),
    max_size=6,
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(deposits_strategy, st.integers(min_value=1, max_value=600_000_000))
def test_any_batch_returned_reaches_the_amount_and_every_member_has_its_totals_tier(rows, due):
    deposits = [
        deposit(
            i + 1,
            r["amount"],
            r["confirmations"],
            dropped=r["dropped"],
            credited_at=NOW if r["credited"] else None,
        )
        for i, r in enumerate(rows)
    ]

    batch = ready_batch(deposits, currency="BTC", due=due)

    if batch:
        total = sum(d.amount for d in batch)
        needed = confirmations_required(currency="BTC", amount=total)
        assert total >= due
        assert all(not d.dropped and d.credited_at is None for d in batch)
        assert all(d.confirmations >= needed for d in batch)
        assert len({d.id for d in batch}) == len(batch)


# --- paid in time --------------------------------------------------------------------


def test_paid_in_time_is_judged_by_first_sight_including_the_deadline_itself():
    deadline = NOW
    on_time = deposit(amount=100, seen_at=deadline)
    late = deposit(amount=100, seen_at=deadline + timedelta(microseconds=1))

    assert paid_in_time([on_time], due=100, deadline=deadline)
    assert not paid_in_time([late], due=100, deadline=deadline)


def test_the_amount_is_reached_when_the_last_deposit_needed_was_seen():
    first = deposit(1, 60, seen_at=NOW - timedelta(minutes=10))
    second = deposit(2, 40, seen_at=NOW + timedelta(minutes=1))

    assert reached_at([second, first], due=100) == second.seen_at
    assert not paid_in_time([first, second], due=100, deadline=NOW)
    assert paid_in_time([first, second], due=60, deadline=NOW)


def test_a_dropped_deposit_does_not_make_an_order_paid_in_time():
    early = deposit(1, 100, seen_at=NOW - timedelta(minutes=5), dropped=True)
    late = deposit(2, 100, seen_at=NOW + timedelta(minutes=5))

    assert reached_at([early], due=100) is None
    assert not paid_in_time([early, late], due=100, deadline=NOW)


def test_less_than_due_is_never_paid_in_time():
    assert not paid_in_time([deposit(amount=99)], due=100, deadline=NOW)
    assert not paid_in_time([], due=1, deadline=NOW)


# --- vanished ------------------------------------------------------------------------


def test_a_credited_deposit_vanishes_when_dropped_or_back_in_the_mempool():
    dropped = deposit(1, credited_at=NOW, confirmations=3, height=100, dropped=True)
    mempool = deposit(2, credited_at=NOW, confirmations=0, height=None)
    in_block = deposit(3, credited_at=NOW, confirmations=3, height=100)
    uncredited = deposit(4, confirmations=0, height=None, dropped=True)

    assert vanished([dropped, mempool, in_block, uncredited]) == [dropped, mempool]


# --- crediting once, against the database --------------------------------------------


@pytest.fixture
def account(db):
    wallet = MasterWallet.objects.create(
        chain="bitcoin", name="fast-funding", network="regtest", endpoint="BITCOIN", capacity=10
    )
    return WalletAccount.objects.create(
        master_wallet=wallet,
        chain="bitcoin",
        account_index=1,
        node_name="fast-funding-1",
        address="fast-funding-address",
        state=AccountState.ASSIGNED,
        owner_kind="order",
        owner_id=1,
    )


def _saved(account, txid: str, amount: int = 1_000) -> Deposit:
    return Deposit.objects.create(
        account=account,
        master_wallet=account.master_wallet,
        chain="bitcoin",
        txid=txid,
        output_key="0",
        amount=amount,
        height=100,
        confirmations=6,
        unlocked=True,
        seen_at=NOW,
    )


def test_deposits_are_credited_once_and_a_rerun_credits_none(account):
    rows = [_saved(account, "a" * 64), _saved(account, "b" * 64)]

    first = deposits_credit(rows)
    again = deposits_credit(Deposit.objects.filter(account=account))

    assert first == rows
    assert all(d.credited_at is not None for d in first)
    assert again == []
    assert Deposit.objects.filter(account=account, credited_at__isnull=True).count() == 0


def test_a_stale_copy_of_a_credited_deposit_is_not_credited_again(account):
    row = _saved(account, "c" * 64)
    stale = Deposit.objects.get(id=row.id)  # read before the credit, credited_at still None
    deposits_credit([row])
    when = Deposit.objects.get(id=row.id).credited_at

    assert deposits_credit([stale]) == []
    assert stale.credited_at is None
    assert Deposit.objects.get(id=row.id).credited_at == when


def test_the_same_deposit_twice_in_one_call_is_credited_once(account):
    row = _saved(account, "d" * 64)
    copy = Deposit.objects.get(id=row.id)

    assert deposits_credit([row, copy]) == [row]
