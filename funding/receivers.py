"""Wallet events that move every funded order on (connected in FundingConfig.ready)."""

from __future__ import annotations

from django.dispatch import receiver

from exchange.dispatch import enqueue
from funding.models import ADVANCE, APPLY_DEPOSITS, funded_models
from funding.services import for_accounts
from wallets.models import Payout
from wallets.signals import deposits_changed, payouts_changed


@receiver(deposits_changed)
def on_deposits_changed(
    sender: object, *, chain: str, account_ids: list[int], **kwargs: object
) -> None:
    for model in funded_models().values():
        for owner_id in for_accounts(model, account_ids):
            enqueue(model.task(APPLY_DEPOSITS), owner_id)


@receiver(payouts_changed)
def on_payouts_changed(sender: object, *, payout_ids: list[int], **kwargs: object) -> None:
    models = funded_models()
    owners = set(Payout.objects.filter(id__in=payout_ids).values_list("owner_kind", "owner_id"))
    for kind, owner_id in owners:
        if kind in models:
            enqueue(models[kind].task(ADVANCE), owner_id)
