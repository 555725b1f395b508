"""A merchant's balance: what the invoices of their stores that settle to a balance
credited to ``merchant:{user}``, and its withdrawal to their payout address.

The coins of that balance stay in the deposit accounts of the prompts that credited it,
so a withdrawal is one payout from each of those accounts, of what that prompt credited
and nothing was taken back from (a refund, an earlier withdrawal): each made once, keyed
by the withdrawal. A share below ORDER_MIN_AMOUNT is not worth its network fee on its
own and stays in the balance (``MerchantBalance.withdrawable`` says how much can go), as
does one whose deposit left the chain in a reorg, until it is back in a block.

Locks: the merchant's user row (one withdrawal at a time), then the prompts by id; a
refund of a balance store locks the invoice and its prompt, so the two never take the
same share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from exchange.errors import ApplicationError
from funding.models import EventKind
from funding.services import pay
from funding.services.deposits import deposits_locked, vanished
from funding.states import note
from invoices.models import PaymentPrompt, Withdrawal
from invoices.selectors import balance_shares
from orders.selectors import vendor_payout_address
from wallets.chains import COINS
from wallets.models import PayoutKind

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def balance_withdraw(*, owner: User, currency: str) -> Withdrawal:
    """Withdraw what can be paid of ``owner``'s balance in ``currency`` to their payout
    address. Refused, naming ``currency``, for a coin that is not one, without a payout
    address, or with nothing that can be paid."""
    code = (currency or "").strip().upper()
    if code not in {c.code for c in COINS}:
        raise ApplicationError(f"{currency!r} is not a coin here", field="currency")
    address = vendor_payout_address(vendor_id=owner.pk, currency=code)
    if not address:
        raise ApplicationError(f"set a payout address for {code} first", field="currency")
    least = settings.ORDER_MIN_AMOUNT[code]
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
        wanted = list(balance_shares(owner_id=owner.pk, currency=code))
        prompts = list(
            PaymentPrompt.objects.select_for_update()
            .filter(id__in=wanted, store_owner_id=owner.pk, currency=code)
            .order_by("id")
        )
        shares = balance_shares(owner_id=owner.pk, currency=code)
        paid = [
            (prompt, shares[prompt.id])
            for prompt in prompts
            if shares.get(prompt.id, 0) >= least and not vanished(deposits_locked(prompt))
        ]
        if not paid:
            raise ApplicationError(
                f"nothing to withdraw in {code}: no invoice credited {least} base units"
                " or more that are still in the balance",
                field="currency",
            )
        withdrawal = Withdrawal.objects.create(
            owner=owner,
            currency=code,
            amount=sum(share for _, share in paid),
            address=address,
            payouts=len(paid),
        )
        for prompt, share in paid:
            payout = pay(
                prompt,
                f"{PayoutKind.WITHDRAWAL}:{withdrawal.id}",
                address=address,
                amount=share,
                kind=PayoutKind.WITHDRAWAL,
                ledger_from=f"merchant:{owner.pk}",
                actor=owner,
            )
            note(
                prompt,
                kind=EventKind.WITHDRAWAL,
                actor=owner,
                data={"withdrawal": withdrawal.id, "payout": payout.id, "amount": share},
            )
    return withdrawal
