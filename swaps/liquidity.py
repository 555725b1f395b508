"""The house's liquidity per currency and the swaps' reservations against it.

Available liquidity is derived, never stored as a running figure that two writers could
overwrite:

    available = min(spendable, house in the books) − payouts the reading does not show
                − active reservations

``spendable`` is the liquidity account's spendable balance as the node reported it at
``spendable_at`` (written by the balance sync, and only by a newer reading); "payouts the
reading does not show" are the house's payouts not relayed before that reading. A
reservation locks the currency's row (``SELECT … FOR UPDATE`` on one row), computes what is
available, and inserts itself in the same transaction: concurrent swaps can never reserve
more than there is. Reservations are consumed when the swap's payout is requested (the
payout then counts instead), and released on expiry or refund. Every function is safe to
run twice (each acts only on an active reservation).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model, Q, Sum
from django.utils import timezone

from exchange.errors import ApplicationError, ConflictError
from funding.models import FundingState
from ownership.models import LedgerBalance
from swaps.models import Liquidity, LiquidityReservation, SwapOrder
from wallets.models import (
    CHAIN_OF_CURRENCY,
    CURRENCY_OF_CHAIN,
    AccountPurpose,
    Payout,
    PayoutState,
    WalletAccount,
)

Active = LiquidityReservation.State.ACTIVE
# Payouts that may still take coins out of the house account.
_OUTSTANDING = [
    PayoutState.PENDING,
    PayoutState.HELD,
    PayoutState.SIGNED,
    PayoutState.RELAYED,
    PayoutState.CONFIRMED,
    PayoutState.FAILED,
]


class NotEnoughLiquidity(ConflictError):
    code = "not_enough_liquidity"


class ClientLimit(ApplicationError):
    """One client holds as much as it may until it pays or its swaps expire (429)."""

    status_code = 429
    code = "client_limit"


def _row(currency: str) -> Liquidity:
    row, _ = Liquidity.objects.get_or_create(currency=currency)
    return row


def liquidity_sync(*, chain: str, read_at: datetime) -> Liquidity:
    """Record the liquidity accounts' spendable node balance as read at ``read_at`` (by the
    balance sync). An older reading never replaces a newer one."""
    currency = CURRENCY_OF_CHAIN[chain]
    house = WalletAccount.objects.filter(chain=chain, purpose=AccountPurpose.LIQUIDITY)
    spendable = house.aggregate(s=Sum("node_spendable"))["s"] or 0
    _row(currency)
    Liquidity.objects.filter(currency=currency).filter(
        Q(spendable_at__isnull=True) | Q(spendable_at__lt=read_at)
    ).update(spendable=spendable, spendable_at=read_at, synced_at=timezone.now())
    return Liquidity.objects.get(currency=currency)


def _table(model: type[Model]) -> str:
    return model._meta.db_table


# All of a currency's figures in one statement: it runs on every rates read and quote.
# Table names come from the models; every value is bound.
_FIGURES_SQL = f"""
SELECT l.spendable,
       COALESCE((SELECT SUM(b.balance) FROM {_table(LedgerBalance)} b
                 WHERE b.currency = l.currency AND b.account = 'house'), 0),
       COALESCE((SELECT SUM(p.amount) FROM {_table(Payout)} p
                 JOIN {_table(WalletAccount)} a ON a.id = p.source_account_id
                 WHERE p.chain = %(chain)s AND a.purpose = %(purpose)s
                   AND p.state IN %(outstanding)s
                   AND (p.relayed_at IS NULL OR p.relayed_at >= l.spendable_at)), 0),
       COALESCE((SELECT SUM(r.amount) FROM {_table(LiquidityReservation)} r
                 WHERE r.currency = l.currency AND r.state = %(active)s), 0)
FROM {_table(Liquidity)} l WHERE l.currency = %(currency)s
"""  # noqa: S608


def liquidity_figures(*, currency: str) -> dict[str, int]:
    """What available liquidity is made of (base units), read in one statement:

    - ``spendable``: the liquidity account's node balance at the last reading;
    - ``house_books``: the house's balance in the ledger;
    - ``unshown_payouts``: house payouts the reading does not show yet (not relayed before
      it; all of them while there is no reading, when nothing is spendable anyway);
    - ``reserved``: active reservations.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _FIGURES_SQL,
            {
                "currency": currency,
                "chain": CHAIN_OF_CURRENCY[currency],
                "purpose": AccountPurpose.LIQUIDITY.value,
                "outstanding": tuple(str(s) for s in _OUTSTANDING),
                "active": str(Active),
            },
        )
        row = cursor.fetchone()
    if row is None:  # the currency's first use: its row is made, nothing is spendable yet
        _row(currency)
        return liquidity_figures(currency=currency)
    spendable, books, unshown, reserved = (int(v) for v in row)
    return {
        "spendable": spendable,
        "house_books": books,
        "unshown_payouts": unshown,
        "reserved": reserved,
        "available": max(0, min(spendable, books) - unshown - reserved),
    }


def liquidity_available(*, currency: str) -> int:
    return liquidity_figures(currency=currency)["available"]


def _locked_available(currency: str) -> int:
    """Available liquidity with the currency's row locked (in the caller's transaction)."""
    _row(currency)
    Liquidity.objects.select_for_update().get(currency=currency)
    return liquidity_available(currency=currency)


def _client_limits(
    *, swap_id: int, currency: str, amount: int, client: str, available: int
) -> None:
    """A new swap of ``client``'s, with the currency's row locked: at most
    SWAP_CLIENT_MAX_UNPAID unpaid swaps, a single swap at most SWAP_MAX_SHARE_BPS of the
    liquidity, and the client's unpaid reservations at most SWAP_CLIENT_MAX_SHARE_BPS."""
    unpaid = SwapOrder.objects.filter(client=client, state=FundingState.AWAITING_DEPOSIT).exclude(
        id=swap_id
    )
    if unpaid.count() >= settings.SWAP_CLIENT_MAX_UNPAID:
        raise ClientLimit(
            f"at most {settings.SWAP_CLIENT_MAX_UNPAID} unpaid swaps at a time: pay one or"
            " let it expire first",
            extra={"limit": settings.SWAP_CLIENT_MAX_UNPAID},
        )
    held = int(
        LiquidityReservation.objects.filter(
            currency=currency,
            state=Active,
            swap_id__in=unpaid.filter(to_currency=currency).values("id"),
        ).aggregate(s=Sum("amount"))["s"]
        or 0
    )
    # The liquidity before any reservation: the shares are of what the house can pay.
    total = available + _reserved_total(currency)
    single = total * settings.SWAP_MAX_SHARE_BPS // 10_000
    if amount > single:
        raise NotEnoughLiquidity(
            f"one swap may pay out at most {public_figure(single)} {currency} base units now",
            extra={"currency": currency, "max_payout": str(public_figure(single))},
        )
    if held + amount > total * settings.SWAP_CLIENT_MAX_SHARE_BPS // 10_000:
        raise ClientLimit(
            "your unpaid swaps already hold as much liquidity as one client may: pay one or"
            " let it expire first"
        )


def _reserved_total(currency: str) -> int:
    return int(
        LiquidityReservation.objects.filter(currency=currency, state=Active).aggregate(
            s=Sum("amount")
        )["s"]
        or 0
    )


def public_figure(amount: int) -> int:
    """``amount`` rounded down to two significant digits: what the public is told of the
    house's liquidity (never the exact balance)."""
    if amount < 100:
        return max(0, amount)
    step = 10 ** (len(str(amount)) - 2)
    return amount // step * step


def liquidity_public(*, currency: str) -> int:
    """The largest payout one new swap may reserve now, rounded (public_figure)."""
    figures = liquidity_figures(currency=currency)
    total = figures["available"] + figures["reserved"]
    return public_figure(min(figures["available"], total * settings.SWAP_MAX_SHARE_BPS // 10_000))


def liquidity_reserve(
    *, swap_id: int, currency: str, amount: int, client: str | None = None
) -> LiquidityReservation:
    """Hold ``amount`` for a swap, or raise NotEnoughLiquidity (409). A new swap of a
    ``client`` is held to the client limits (_client_limits; ClientLimit, 429). In the
    caller's transaction: if it rolls back, so does the hold."""
    with transaction.atomic():
        available = _locked_available(currency)
        if available < amount:
            raise NotEnoughLiquidity(
                f"not enough {currency} liquidity for this swap now",
                extra={"currency": currency},
            )
        if client is not None:
            _client_limits(
                swap_id=swap_id,
                currency=currency,
                amount=amount,
                client=client,
                available=available,
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
        if delta > 0 and _locked_available(reservation.currency) < delta:
            raise NotEnoughLiquidity(f"not enough {reservation.currency} liquidity for this swap")
        LiquidityReservation.objects.filter(id=reservation.id).update(amount=amount)
        reservation.amount = amount
        return reservation


def liquidity_hold(*, swap_id: int, currency: str, amount: int) -> bool:
    """Make the swap's active reservation ``amount``, taking a new one if it has none
    (expired swaps freed theirs). False if there is not enough liquidity."""
    try:
        if LiquidityReservation.objects.filter(swap_id=swap_id, state=Active).exists():
            liquidity_resize(swap_id=swap_id, amount=amount)
        elif LiquidityReservation.objects.filter(swap_id=swap_id).exists():
            return False  # consumed or released once: a swap reserves at most once
        else:
            liquidity_reserve(swap_id=swap_id, currency=currency, amount=amount)
    except NotEnoughLiquidity:
        return False
    return True


def _finish(swap_id: int, to_state: str) -> bool:
    with transaction.atomic():
        reservation = LiquidityReservation.objects.filter(swap_id=swap_id, state=Active).first()
        if reservation is None:
            return False
        _row(reservation.currency)
        Liquidity.objects.select_for_update().get(currency=reservation.currency)
        return (
            LiquidityReservation.objects.filter(id=reservation.id, state=Active).update(
                state=to_state
            )
            == 1
        )


def liquidity_consume(*, swap_id: int) -> bool:
    """The swap's payout is requested in this transaction: it counts from now on."""
    return _finish(swap_id, LiquidityReservation.State.CONSUMED)


def liquidity_release(*, swap_id: int) -> bool:
    """The swap will not be paid from the house (expired, refunded): the hold is freed."""
    return _finish(swap_id, LiquidityReservation.State.RELEASED)
