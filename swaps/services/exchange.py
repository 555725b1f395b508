"""Swaps: a customer sends one currency into a deposit account and receives the other from
the house's liquidity account, at a fixed (quoted) or floating (at confirmation) rate.

Ledger accounts per currency: ``customer:swap:{id}`` (what the house owes the customer),
``house`` (the house's own coins), ``platform:spread`` (the spread earned). No node is
called here: payouts go through the exactly-once payout saga. What every funded order
shares (the row lock, deposits credited once, confirmations, expiry, following payouts,
retries) is the core's (``funding``); what is here is the swap's own.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from exchange.errors import ApplicationError
from funding.fees import floating_reserve, network_fee_estimate
from funding.models import EventKind, FundingState
from funding.services import (
    account_assign,
    address_checked,
    advance,
    apply_deposits,
    confirmations_required,
    creditable,
    deposits_credit,
    expire_due,
    extras_ready,
    hand_over,
    lock,
    pay,
    post,
)
from funding.states import StateConflict, note, transition
from ownership.services import NegativeBalance
from rates.errors import RateUnavailable
from rates.selectors import rate_current
from swaps.liquidity import (
    NotEnoughLiquidity,
    liquidity_consume,
    liquidity_hold,
    liquidity_release,
    liquidity_reserve,
)
from swaps.models import Quote, SwapKind, SwapOrder, SwapState
from swaps.quotes import swap_amounts
from wallets.models import (
    CHAIN_OF_CURRENCY,
    Deposit,
    OwnerKind,
    PayoutKind,
)
from wallets.services import house_account_ensure, master_wallet_ensure

if TYPE_CHECKING:
    from staff.services.authorize import Person

logger = logging.getLogger(__name__)

OWNER = OwnerKind.SWAP
# States in which the customer's deposit has been credited to them.
CREDITED_STATES = frozenset(
    {
        SwapState.EXCHANGING,
        SwapState.SENDING,
        FundingState.COMPLETED,
        SwapState.ACTION_REQUIRED,
        FundingState.REFUNDING,
        FundingState.REFUNDED,
        FundingState.FAILED,
    }
)


def _customer(swap: SwapOrder) -> str:
    return f"customer:swap:{swap.id}"


def _lock(swap_id: int) -> SwapOrder:
    return lock(SwapOrder, swap_id)


def _reserve_amount(quote: Quote) -> int:
    if quote.kind == SwapKind.FIXED:
        return quote.amount_to_gross
    return floating_reserve(quote.amount_to_gross)


# --- create --------------------------------------------------------------------------


def swap_create(
    *,
    quote_id: UUID,
    payout_address: str,
    refund_address: str,
    client: str,
    user: Person | None = None,
) -> SwapOrder:
    """Turn a quote into a swap: reserve the payout's liquidity (within the limits of
    ``client``, exchange.clients), hand out a deposit account from the pool (zero node
    calls). A quote makes one swap."""
    user = user if user is not None and user.pk else None
    with transaction.atomic():
        quote = Quote.objects.select_for_update().filter(public_id=quote_id).first()
        if quote is None or (quote.user_id and (user is None or quote.user_id != user.pk)):
            raise ApplicationError(
                "no such quote", field="quote_id", status_code=404, code="not_found"
            )
        if quote.expires_at < timezone.now():
            raise ApplicationError("the quote has expired; ask for a new one", field="quote_id")
        if SwapOrder.objects.filter(quote=quote).exists():
            raise StateConflict("this quote has already been used", extra={"field": "quote_id"})
        payout_address = address_checked(quote.to_currency, payout_address, "payout_address")
        refund_address = address_checked(quote.from_currency, refund_address, "refund_address")
        swap = SwapOrder.objects.create(
            user=user,
            client=client,
            quote=quote,
            kind=quote.kind,
            from_currency=quote.from_currency,
            to_currency=quote.to_currency,
            amount_from=quote.amount_from,
            amount_to_gross=quote.amount_to_gross,
            rate=quote.rate,
            market_rate=quote.market_rate,
            spread_bps=quote.spread_bps,
            payout_address=payout_address,
            refund_address=refund_address,
            confirmations_required=confirmations_required(
                currency=quote.from_currency, amount=quote.amount_from
            ),
            expires_at=quote.expires_at
            if quote.kind == SwapKind.FIXED
            else timezone.now() + timedelta(seconds=settings.SWAP_QUOTE_TTL_SECONDS),
        )
        reserve = _reserve_amount(quote)
        liquidity_reserve(swap_id=swap.id, currency=swap.to_currency, amount=reserve, client=client)
        account_assign(swap, reserved_amount=reserve)
        note(swap, kind=EventKind.CREATED, actor=user, data={"quote": str(quote.public_id)})
    return swap


# --- deposits ------------------------------------------------------------------------


def _seen_in_time(swap: SwapOrder, live: list[Deposit]) -> bool:
    """A deposit of any size seen before the deadline (the decision weighs the amount)."""
    return any(d.seen_at <= swap.expires_at for d in live)


def swap_apply_deposits(*, swap_id: int) -> SwapOrder:
    """Bring the swap in line with its account's deposits. Safe to run twice: each deposit
    is credited once, whatever the passes and however long a decision waits."""
    return apply_deposits(SwapOrder, swap_id, _apply)


def _apply(swap: SwapOrder, live: list[Deposit]) -> None:
    if swap.state == FundingState.AWAITING_DEPOSIT and _seen_in_time(swap, live):
        transition(swap, FundingState.CONFIRMING, data={"seen": str(sum(d.amount for d in live))})
    if swap.state == FundingState.CONFIRMING:
        if not live:
            transition(swap, FundingState.AWAITING_DEPOSIT, reason="the deposit vanished")
        elif _all_creditable(swap, live):
            _credit(swap, live)
            _decide(swap)
    elif swap.state == FundingState.EXPIRED:
        late = [d for d in live if d.credited_at is None]
        if late and _all_creditable(swap, late):
            _credit(swap, late)
            transition(
                swap,
                SwapState.ACTION_REQUIRED,
                reason="paid after the swap expired",
                action_reason="paid after the swap expired",
            )
    elif swap.state in CREDITED_STATES:
        for deposit in extras_ready(live, currency=swap.from_currency):
            if _credit(swap, [deposit], extra=True):
                _refund_extra(swap, deposit)


def _all_creditable(swap: SwapOrder, deposits: list[Deposit]) -> bool:
    """Every deposit has the confirmations that the total received so far needs (an
    overpaid or larger-than-quoted deposit waits for the tier of its size)."""
    total = sum(d.amount for d in deposits if d.credited_at is None) + swap.received_amount
    required = max(
        swap.confirmations_required,
        confirmations_required(currency=swap.from_currency, amount=total),
    )
    if required != swap.confirmations_required:
        SwapOrder.objects.filter(id=swap.id).update(confirmations_required=required)
        swap.confirmations_required = required
    return all(creditable(d, currency=swap.from_currency, required=required) for d in deposits)


def _credit(swap: SwapOrder, deposits: list[Deposit], *, extra: bool = False) -> int:
    """Credit each deposit not yet credited (once: the conditional update that marks it is
    the test); returns the amount this call credited."""
    credited = deposits_credit(d for d in deposits if d.credited_at is None)
    total = sum(d.amount for d in credited)
    if not total:
        return 0
    if not extra:
        swap.received_amount += total
        SwapOrder.objects.filter(id=swap.id).update(received_amount=swap.received_amount)
    post(
        swap,
        currency=swap.from_currency,
        legs=[(_customer(swap), total), ("deposits", -total)],
        memo=f"{'extra ' if extra else ''}deposits credited",
        wallet_account=swap.account,
    )
    return total


def _decide(swap: SwapOrder) -> None:
    """Fixed: the locked rate if the deposits were seen before the quote expired and match
    it. Floating: the rate now (if there is no fresh rate, the swap waits for the next
    scan, its deposits already credited)."""
    if swap.kind == SwapKind.FIXED:
        tolerance = settings.SWAP_AMOUNT_TOLERANCE[swap.from_currency]
        credited = list(
            Deposit.objects.filter(
                account_id=swap.account_id, dropped=False, credited_at__isnull=False
            ).values_list("seen_at", "confirmed_at")
        )
        # Seen in time is enough, but not a deposit held unconfirmed long after expiry (a
        # low-fee payment kept as an option on the rate, to be replaced if it moves).
        grace = swap.expires_at + timedelta(seconds=settings.SWAP_CONFIRM_GRACE_SECONDS)
        if any(seen > swap.expires_at for seen, _ in credited):
            reason = "the deposit was sent after the fixed quote expired"
        elif any(confirmed and confirmed > grace for _, confirmed in credited):
            reason = "the deposit confirmed too long after the fixed quote expired"
        elif abs(swap.received_amount - swap.amount_from) > tolerance:
            reason = f"received {swap.received_amount}, the quote was for {swap.amount_from}"
        else:
            market_equivalent = swap_amounts(
                from_currency=swap.from_currency,
                to_currency=swap.to_currency,
                xmr_btc=swap.market_rate,
                spread_bps=swap.spread_bps,
                network_fee=0,
                amount_from=swap.received_amount,
            ).market_equivalent
            try:
                _exchange(
                    swap, swap.amount_to_gross, swap.rate, swap.market_rate, market_equivalent
                )
                return
            except NotEnoughLiquidity as exc:
                reason = str(exc)
        transition(swap, SwapState.ACTION_REQUIRED, reason=reason, action_reason=reason[:200])
        return
    try:
        _exchange_at_current_rate(swap)
    except RateUnavailable as exc:
        logger.warning("swap %s waits for a fresh rate: %s", swap.id, exc)
    except NotEnoughLiquidity as exc:
        transition(swap, SwapState.ACTION_REQUIRED, reason=str(exc), action_reason=str(exc)[:200])


def _exchange_at_current_rate(swap: SwapOrder) -> None:
    current = rate_current()
    amounts = swap_amounts(
        from_currency=swap.from_currency,
        to_currency=swap.to_currency,
        xmr_btc=current.rate,
        spread_bps=swap.spread_bps,
        network_fee=network_fee_estimate(swap.to_currency),
        amount_from=swap.received_amount,
    )
    if amounts.amount_to <= 0:
        raise NotEnoughLiquidity("the deposit is too small to pay out; refund it instead")
    if not liquidity_hold(
        swap_id=swap.id, currency=swap.to_currency, amount=amounts.amount_to_gross
    ):
        raise NotEnoughLiquidity(f"not enough {swap.to_currency} liquidity for this swap now")
    _exchange(swap, amounts.amount_to_gross, amounts.rate, current.rate, amounts.market_equivalent)


def _exchange(
    swap: SwapOrder, gross: int, rate: Decimal, market_rate: Decimal, market_equivalent: int
) -> None:
    """Exchange and request the house's payout, all or nothing (a savepoint): if the house
    does not hold what the books need, nothing is written and NotEnoughLiquidity says why."""
    try:
        with transaction.atomic():
            _exchange_now(swap, gross, rate, market_rate, market_equivalent)
    except NegativeBalance as exc:
        swap.refresh_from_db()
        raise NotEnoughLiquidity(
            f"the house does not hold enough {swap.to_currency} for this swap now"
        ) from exc


def _exchange_now(
    swap: SwapOrder, gross: int, rate: Decimal, market_rate: Decimal, market_equivalent: int
) -> None:
    now = timezone.now()
    event = transition(
        swap,
        SwapState.EXCHANGING,
        data={"received": str(swap.received_amount), "payout": str(gross), "rate": str(rate)},
        amount_to_gross=gross,
        rate=rate,
        market_rate=market_rate,
        exchanged_at=now,
    )
    post(
        swap,
        currency=swap.from_currency,
        legs=[("house", swap.received_amount), (_customer(swap), -swap.received_amount)],
        memo="the house takes the deposit",
    )
    spread = max(0, market_equivalent - gross)
    post(
        swap,
        currency=swap.to_currency,
        legs=[(_customer(swap), gross), ("platform:spread", spread), ("house", -(gross + spread))],
        memo="the house owes the payout",
    )
    hand_over(
        swap,
        currency=swap.from_currency,
        from_party=_customer(swap),
        to_party="house",
        amount=swap.received_amount,
        reason="exchange",
        event_id=event.id,
    )
    liquidity_consume(swap_id=swap.id)
    house = house_account_ensure(
        wallet=master_wallet_ensure(chain=CHAIN_OF_CURRENCY[swap.to_currency])
    )
    pay(
        swap,
        "payout",
        source_account=house,
        address=swap.payout_address,
        amount=gross,
        kind=PayoutKind.SWAP,
        ledger_from=_customer(swap),
    )
    transition(swap, SwapState.SENDING)


def _refund_extra(swap: SwapOrder, deposit: Deposit) -> None:
    pay(
        swap,
        f"late:{deposit.id}",
        address=swap.refund_address,
        amount=deposit.amount,
        kind=PayoutKind.LATE_REFUND,
        ledger_from=_customer(swap),
    )
    note(
        swap,
        kind=EventKind.EXTRA_DEPOSIT,
        data={"deposit": deposit.id, "amount": str(deposit.amount)},
    )


# --- following payouts, expiry --------------------------------------------------------


def swap_advance(*, swap_id: int) -> SwapOrder:
    """Follow the swap's payout: confirmed → completed/refunded, failed → failed, and back
    from failed when the node shows the payout after all (the table of each is
    ``SwapOrder``'s)."""
    return advance(SwapOrder, swap_id)


def swaps_expire(*, batch: int = 500) -> int:
    """Unpaid swaps past their deadline expire and free their reservation (not one whose
    deposit was seen in time and waits to be applied)."""
    return expire_due(
        SwapOrder,
        batch=batch,
        seen_in_time=_seen_in_time,
        on_expired=_release_reservation,
    )


def _release_reservation(swap: SwapOrder) -> None:
    liquidity_release(swap_id=swap.id)
