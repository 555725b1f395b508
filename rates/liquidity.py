"""The house's liquidity per currency and the swaps' reservations against it.

A reservation is a conditional update (``UPDATE … SET reserved = reserved + X WHERE
balance - reserved >= X``): concurrent swaps can never reserve more than there is.
Reservations are consumed when the swap's payout is requested, and released on expiry
or refund. Every function is safe to run twice (each acts only on an active reservation).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from exchange.errors import ConflictError
from rates.models import Liquidity, LiquidityReservation
from wallets.models import CURRENCY_OF_CHAIN, AccountPurpose, Payout, PayoutState, WalletAccount

Active = LiquidityReservation.State.ACTIVE


class NotEnoughLiquidity(ConflictError):
    code = "not_enough_liquidity"


def _row(currency: str) -> Liquidity:
    row, _ = Liquidity.objects.get_or_create(currency=currency)
    return row


def liquidity_sync(*, chain: str) -> Liquidity:
    """Balance = the liquidity accounts' spendable node balance (from the last balance sync)
    less house payouts not relayed yet."""
    currency = CURRENCY_OF_CHAIN[chain]
    house = WalletAccount.objects.filter(chain=chain, purpose=AccountPurpose.LIQUIDITY)
    spendable = house.aggregate(s=Sum("node_spendable"))["s"] or 0
    unrelayed = (
        Payout.objects.filter(
            source_account__in=house, state__in=[PayoutState.PENDING, PayoutState.SIGNED]
        ).aggregate(s=Sum("amount"))["s"]
        or 0
    )
    _row(currency)
    Liquidity.objects.filter(currency=currency).update(
        balance=spendable - unrelayed, synced_at=timezone.now()
    )
    return Liquidity.objects.get(currency=currency)


def liquidity_reserve(*, swap_id: int, currency: str, amount: int) -> LiquidityReservation:
    """Hold ``amount`` for a swap, or raise NotEnoughLiquidity (409). In the caller's
    transaction: if it rolls back, so does the hold."""
    _row(currency)
    with transaction.atomic():
        held = Liquidity.objects.filter(
            currency=currency, balance__gte=F("reserved") + amount
        ).update(reserved=F("reserved") + amount)
        if held != 1:
            available = Liquidity.objects.get(currency=currency).available
            raise NotEnoughLiquidity(
                f"not enough {currency} liquidity: {available} base units available",
                extra={"currency": currency, "available": str(available)},
            )
        return LiquidityReservation.objects.create(
            swap_id=swap_id, currency=currency, amount=amount
        )


def liquidity_resize(*, swap_id: int, amount: int) -> LiquidityReservation:
    """Change an active reservation to ``amount`` (a floating swap's final payout)."""
    with transaction.atomic():
        reservation = LiquidityReservation.objects.select_for_update().get(
            swap_id=swap_id, state=Active
        )
        delta = amount - reservation.amount
        if delta > 0:
            held = Liquidity.objects.filter(
                currency=reservation.currency, balance__gte=F("reserved") + delta
            ).update(reserved=F("reserved") + delta)
            if held != 1:
                raise NotEnoughLiquidity(
                    f"not enough {reservation.currency} liquidity for this swap"
                )
        elif delta < 0:
            Liquidity.objects.filter(currency=reservation.currency).update(
                reserved=F("reserved") + delta
            )
        LiquidityReservation.objects.filter(id=reservation.id).update(amount=amount)
        reservation.amount = amount
        return reservation


def _finish(swap_id: int, to_state: str, *, spend: bool) -> bool:
    with transaction.atomic():
        reservation = LiquidityReservation.objects.filter(swap_id=swap_id, state=Active).first()
        if reservation is None:
            return False
        if (
            LiquidityReservation.objects.filter(id=reservation.id, state=Active).update(
                state=to_state
            )
            != 1
        ):
            return False
        change = {"reserved": F("reserved") - reservation.amount}
        if spend:
            change["balance"] = F("balance") - reservation.amount
        Liquidity.objects.filter(currency=reservation.currency).update(**change)
        return True


def liquidity_consume(*, swap_id: int) -> bool:
    """The swap's payout was requested: the held amount leaves the balance."""
    return _finish(swap_id, LiquidityReservation.State.CONSUMED, spend=True)


def liquidity_release(*, swap_id: int) -> bool:
    """The swap will not be paid from the house (expired, refunded): the hold is freed."""
    return _finish(swap_id, LiquidityReservation.State.RELEASED, spend=False)


def liquidity_available(*, currency: str) -> int:
    return _row(currency).available
