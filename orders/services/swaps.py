"""Swaps: a customer sends one currency into a deposit account and receives the other from
the house's liquidity account, at a fixed (quoted) or floating (at confirmation) rate.

Ledger accounts per currency: ``customer:swap:{id}`` (what the house owes the customer),
``house`` (the house's own coins), ``platform:spread`` (the spread earned). No node is
called here: payouts go through the exactly-once payout saga.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from exchange.errors import ApplicationError, NotFoundError
from orders.models import SwapKind, SwapOrder, SwapState
from orders.services.escrow import confirmations_required
from orders.states import StateConflict, swap_note, swap_transition
from ownership.services import ledger_post, ownership_transfer
from rates.errors import RateUnavailable
from rates.liquidity import (
    NotEnoughLiquidity,
    liquidity_consume,
    liquidity_release,
    liquidity_reserve,
    liquidity_resize,
)
from rates.models import Quote
from rates.quotes import swap_amounts
from rates.selectors import rate_current
from wallets.addresses import validate_address
from wallets.models import CHAIN_OF_CURRENCY, Deposit, Payout, PayoutState
from wallets.services import allocate_account, house_account_ensure, master_wallet_ensure
from wallets.services.payouts import payout_request

logger = logging.getLogger(__name__)

OWNER = "swap"
# States in which the customer's deposit has been credited to them.
CREDITED_STATES = frozenset(
    {
        SwapState.EXCHANGING,
        SwapState.SENDING,
        SwapState.COMPLETED,
        SwapState.ACTION_REQUIRED,
        SwapState.REFUNDING,
        SwapState.REFUNDED,
        SwapState.FAILED,
    }
)


def _customer(swap: SwapOrder) -> str:
    return f"customer:swap:{swap.id}"


def _lock(swap_id: int) -> SwapOrder:
    try:
        return SwapOrder.objects.select_for_update().get(id=swap_id)
    except SwapOrder.DoesNotExist as exc:
        raise NotFoundError(f"swap {swap_id} not found") from exc


def _creditable(swap: SwapOrder, deposit: Deposit) -> bool:
    if deposit.dropped or deposit.confirmations < swap.confirmations_required:
        return False
    return deposit.unlocked or swap.from_currency != "XMR"


def _address(currency: str, address: str, field: str) -> str:
    address = (address or "").strip()
    check = validate_address(chain=CHAIN_OF_CURRENCY[currency], address=address)
    if not check.valid:
        raise ApplicationError(check.error, field=field)
    return address


def _reserve_amount(quote: Quote) -> int:
    if quote.kind == SwapKind.FIXED:
        return quote.amount_to_gross
    margin = settings.SWAP_FLOATING_RESERVE_MARGIN_BPS
    return quote.amount_to_gross * (10_000 + margin) // 10_000


# --- create --------------------------------------------------------------------------


def swap_create(*, quote_id, payout_address: str, refund_address: str, user=None) -> SwapOrder:
    """Turn a quote into a swap: reserve the payout's liquidity, hand out a deposit
    account from the pool (zero node calls). A quote makes one swap."""
    user = user if getattr(user, "pk", None) else None
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
        payout_address = _address(quote.to_currency, payout_address, "payout_address")
        refund_address = _address(quote.from_currency, refund_address, "refund_address")
        swap = SwapOrder.objects.create(
            user=user,
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
        liquidity_reserve(swap_id=swap.id, currency=swap.to_currency, amount=reserve)
        swap.account = allocate_account(
            chain=CHAIN_OF_CURRENCY[swap.from_currency], owner_kind=OWNER, owner_id=swap.id
        )
        swap.reserved_amount = reserve
        SwapOrder.objects.filter(id=swap.id).update(account=swap.account, reserved_amount=reserve)
        swap_note(swap, kind="created", actor=user, data={"quote": str(quote.public_id)})
    return swap


# --- deposits ------------------------------------------------------------------------


def swap_apply_deposits(*, swap_id: int) -> SwapOrder:
    """Bring the swap in line with its account's deposits. Safe to run twice."""
    with transaction.atomic():
        swap = _lock(swap_id)
        deposits = list(
            Deposit.objects.select_for_update().filter(account_id=swap.account_id).order_by("id")
        )
        live = [d for d in deposits if not d.dropped]
        now = timezone.now()
        if swap.state == SwapState.AWAITING_DEPOSIT and live and now <= swap.expires_at:
            swap_transition(
                swap, SwapState.CONFIRMING, data={"seen": str(sum(d.amount for d in live))}
            )
        if swap.state == SwapState.CONFIRMING:
            if not live:
                swap_transition(swap, SwapState.AWAITING_DEPOSIT, reason="the deposit vanished")
            elif all(_creditable(swap, d) for d in live):
                _credit(swap, live)
                _decide(swap, now)
        elif swap.state == SwapState.EXPIRED:
            ready = [d for d in live if d.credited_at is None and _creditable(swap, d)]
            if ready:
                _credit(swap, ready)
                swap_transition(
                    swap,
                    SwapState.ACTION_REQUIRED,
                    reason="paid after the swap expired",
                    action_reason="paid after the swap expired",
                )
        elif swap.state in CREDITED_STATES:
            for deposit in live:
                if deposit.credited_at is None and _creditable(swap, deposit):
                    _credit(swap, [deposit], extra=True)
                    _refund_extra(swap, deposit)
    return swap


def _credit(swap: SwapOrder, deposits: list[Deposit], *, extra: bool = False) -> None:
    total = sum(d.amount for d in deposits)
    now = timezone.now()
    Deposit.objects.filter(id__in=[d.id for d in deposits]).update(credited_at=now)
    for deposit in deposits:
        deposit.credited_at = now
    if not extra:
        swap.received_amount += total
        SwapOrder.objects.filter(id=swap.id).update(received_amount=swap.received_amount)
    ledger_post(
        currency=swap.from_currency,
        legs=[(_customer(swap), total), ("deposits", -total)],
        memo=f"swap {swap.id}: {'extra ' if extra else ''}deposits credited",
        owner_kind=OWNER,
        owner_id=swap.id,
    )


def _decide(swap: SwapOrder, now) -> None:
    """Fixed: the locked rate if the deposit confirmed in time and matches the quote.
    Floating: the rate now (if there is no fresh rate, the swap waits for the next scan)."""
    if swap.kind == SwapKind.FIXED:
        tolerance = settings.SWAP_AMOUNT_TOLERANCE[swap.from_currency]
        if now > swap.expires_at:
            reason = "the deposit confirmed after the fixed quote expired"
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
            _exchange(swap, swap.amount_to_gross, swap.rate, swap.market_rate, market_equivalent)
            return
        swap_transition(swap, SwapState.ACTION_REQUIRED, reason=reason, action_reason=reason[:200])
        return
    try:
        _exchange_at_current_rate(swap)
    except RateUnavailable as exc:
        logger.warning("swap %s waits for a fresh rate: %s", swap.id, exc)
    except NotEnoughLiquidity as exc:
        swap_transition(
            swap, SwapState.ACTION_REQUIRED, reason=str(exc), action_reason=str(exc)[:200]
        )


def _exchange_at_current_rate(swap: SwapOrder) -> None:
    current = rate_current()
    amounts = swap_amounts(
        from_currency=swap.from_currency,
        to_currency=swap.to_currency,
        xmr_btc=current.rate,
        spread_bps=swap.spread_bps,
        network_fee=settings.SWAP_NETWORK_FEE[swap.to_currency],
        amount_from=swap.received_amount,
    )
    if amounts.amount_to <= 0:
        raise NotEnoughLiquidity("the deposit is too small to pay out; refund it instead")
    if not liquidity_resize_or_reserve(swap, amounts.amount_to_gross):
        raise NotEnoughLiquidity(f"not enough {swap.to_currency} liquidity for this swap now")
    _exchange(swap, amounts.amount_to_gross, amounts.rate, current.rate, amounts.market_equivalent)


def liquidity_resize_or_reserve(swap: SwapOrder, amount: int) -> bool:
    try:
        liquidity_resize(swap_id=swap.id, amount=amount)
    except NotEnoughLiquidity:
        return False
    except Exception as exc:  # noqa: BLE001 - no active reservation: take a new one
        if exc.__class__.__name__ != "DoesNotExist":
            raise
        from rates.models import LiquidityReservation

        if LiquidityReservation.objects.filter(swap_id=swap.id).exists():
            return False
        try:
            liquidity_reserve(swap_id=swap.id, currency=swap.to_currency, amount=amount)
        except NotEnoughLiquidity:
            return False
    return True


def _exchange(
    swap: SwapOrder, gross: int, rate: Decimal, market_rate: Decimal, market_equivalent: int
) -> None:
    now = timezone.now()
    event = swap_transition(
        swap,
        SwapState.EXCHANGING,
        data={"received": str(swap.received_amount), "payout": str(gross), "rate": str(rate)},
        amount_to_gross=gross,
        rate=rate,
        market_rate=market_rate,
        exchanged_at=now,
    )
    ledger_post(
        currency=swap.from_currency,
        legs=[("house", swap.received_amount), (_customer(swap), -swap.received_amount)],
        memo=f"swap {swap.id}: the house takes the deposit",
        owner_kind=OWNER,
        owner_id=swap.id,
    )
    spread = max(0, market_equivalent - gross)
    ledger_post(
        currency=swap.to_currency,
        legs=[(_customer(swap), gross), ("platform:spread", spread), ("house", -(gross + spread))],
        memo=f"swap {swap.id}: the house owes the payout",
        owner_kind=OWNER,
        owner_id=swap.id,
    )
    ownership_transfer(
        account=swap.account,
        currency=swap.from_currency,
        from_party=_customer(swap),
        to_party="house",
        amount=swap.received_amount,
        reason="exchange",
        owner_kind=OWNER,
        owner_id=swap.id,
        event_id=event.id,
    )
    liquidity_consume(swap_id=swap.id)
    house = house_account_ensure(
        wallet=master_wallet_ensure(chain=CHAIN_OF_CURRENCY[swap.to_currency])
    )
    payout_request(
        key=f"swap_{swap.id}:payout",
        source_account=house,
        address=swap.payout_address,
        amount=gross,
        kind="swap",
        owner_kind=OWNER,
        owner_id=swap.id,
        ledger_from=_customer(swap),
    )
    swap_transition(swap, SwapState.SENDING)


def _refund_extra(swap: SwapOrder, deposit: Deposit) -> None:
    payout_request(
        key=f"swap_{swap.id}:late:{deposit.id}",
        source_account=swap.account,
        address=swap.refund_address,
        amount=deposit.amount,
        kind="late_refund",
        owner_kind=OWNER,
        owner_id=swap.id,
        ledger_from=_customer(swap),
    )
    swap_note(
        swap, kind="extra_deposit", data={"deposit": deposit.id, "amount": str(deposit.amount)}
    )


# --- the customer's choice ----------------------------------------------------------


def swap_accept(*, swap_id: int, actor=None) -> SwapOrder:
    """action_required → exchange at the current rate."""
    with transaction.atomic():
        swap = _lock(swap_id)
        if swap.state != SwapState.ACTION_REQUIRED:
            raise StateConflict(f"swap {swap.id} is {swap.state}; there is nothing to accept")
        swap_note(swap, kind="accepted", actor=actor, reason="continue at the current rate")
        _exchange_at_current_rate(swap)
    return swap


def swap_refund(*, swap_id: int, actor=None, reason: str = "") -> SwapOrder:
    """action_required (the customer) or failed (staff) → refund what was received."""
    with transaction.atomic():
        swap = _lock(swap_id)
        allowed = {SwapState.ACTION_REQUIRED}
        if getattr(actor, "is_staff", False):
            allowed.add(SwapState.FAILED)
        event = swap_transition(
            swap,
            SwapState.REFUNDING,
            allowed_from=allowed,
            actor=actor,
            reason=reason or "the customer asked for a refund",
        )
        liquidity_release(swap_id=swap.id)
        ownership_transfer(
            account=swap.account,
            currency=swap.from_currency,
            from_party=_customer(swap),
            to_party=f"refund:{swap.refund_address[:40]}",
            amount=swap.received_amount,
            reason="refund",
            owner_kind=OWNER,
            owner_id=swap.id,
            event_id=event.id,
        )
        payout_request(
            key=f"swap_{swap.id}:refund",
            source_account=swap.account,
            address=swap.refund_address,
            amount=swap.received_amount,
            kind="refund",
            owner_kind=OWNER,
            owner_id=swap.id,
            ledger_from=_customer(swap),
            actor=actor,
        )
    return swap


# --- following payouts, expiry --------------------------------------------------------


def swap_advance(*, swap_id: int) -> SwapOrder:
    """Follow the swap's payout: confirmed → completed/refunded, failed → failed."""
    with transaction.atomic():
        swap = _lock(swap_id)
        kind = {SwapState.SENDING: "swap", SwapState.REFUNDING: "refund"}.get(swap.state)
        if kind is None:
            return swap
        payout = Payout.objects.filter(owner_kind=OWNER, owner_id=swap.id, kind=kind).first()
        if payout is None:
            return swap
        now = timezone.now()
        if payout.state == PayoutState.FAILED:
            swap_transition(swap, SwapState.FAILED, reason=payout.last_error)
        elif payout.state == PayoutState.CONFIRMED:
            final = SwapState.COMPLETED if kind == "swap" else SwapState.REFUNDED
            swap_transition(swap, final, closed_at=now)
    return swap


def swaps_expire(*, batch: int = 500) -> int:
    """Unpaid swaps past their deadline expire and free their reservation."""
    now = timezone.now()
    expired = 0
    with transaction.atomic():
        due = list(
            SwapOrder.objects.select_for_update(skip_locked=True)
            .filter(state=SwapState.AWAITING_DEPOSIT, expires_at__lt=now)
            .order_by("id")[:batch]
        )
        for swap in due:
            swap_transition(swap, SwapState.EXPIRED, reason="not paid in time", closed_at=now)
            liquidity_release(swap_id=swap.id)
            expired += 1
    return expired


def swaps_for_accounts(account_ids: list[int]) -> list[int]:
    return list(SwapOrder.objects.filter(account_id__in=account_ids).values_list("id", flat=True))


def swap_retry_payout(*, payout_id: int, actor, reason: str, address: str | None = None) -> Payout:
    """Staff put a failed payout of a swap back to work; the swap follows it."""
    from wallets.services.payouts import payout_retry

    if not getattr(actor, "is_staff", False):
        raise ApplicationError(
            "only staff retry a payout", status_code=403, code="permission_denied"
        )
    if not (reason or "").strip():
        raise ApplicationError("a reason is required", field="reason")
    with transaction.atomic():
        payout = payout_retry(payout_id=payout_id, actor=actor, reason=reason, address=address)
        swap = _lock(payout.owner_id)
        back_to = {"swap": SwapState.SENDING, "refund": SwapState.REFUNDING}.get(payout.kind)
        if swap.state == SwapState.FAILED and back_to:
            swap_transition(swap, back_to, actor=actor, reason=reason)
        else:
            swap_note(
                swap, kind="payout_retry", actor=actor, reason=reason, data={"payout": payout.id}
            )
    return payout
