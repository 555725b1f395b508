"""API output shared by every funded order: its deposits, payouts, history (audit trail
and ownership trail) and the fields of its checkout (deposit address, payment URI,
confirmations, expiry)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from rest_framework import serializers

from exchange.fields import BaseUnitsField
from exchange.money import payment_uri
from funding.models import FundedOrder
from funding.selectors import payouts_of
from ownership.models import OwnershipTransfer
from wallets.models import Deposit, WalletAccount


def validated(
    serializer_class: type[serializers.Serializer], data: Mapping[str, object] | list[object]
) -> dict:
    """``data`` as ``serializer_class`` reads it; a 400 naming each bad field otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class DepositSerializer(serializers.Serializer):
    txid = serializers.CharField()
    output = serializers.CharField(source="output_key")
    amount = BaseUnitsField(read_only=True)
    confirmations = serializers.IntegerField()
    unlocked = serializers.BooleanField()
    dropped = serializers.BooleanField()
    credited = serializers.SerializerMethodField()
    flag = serializers.CharField(source="flag_reason")
    seen_at = serializers.DateTimeField(source="first_seen_at")

    def get_credited(self, deposit: Deposit) -> bool:
        return deposit.credited_at is not None


class PayoutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    state = serializers.CharField()
    address = serializers.CharField()
    amount = BaseUnitsField(read_only=True)
    network_fee = BaseUnitsField(read_only=True)
    txid = serializers.CharField()
    confirmations = serializers.IntegerField()


class FundedOrderSerializer(serializers.Serializer):
    """The fields every funded order shows; ``payouts`` is empty for one just created
    (context ``created``)."""

    state = serializers.CharField()
    deposit_address = serializers.CharField(source="account.address")
    payment_uri = serializers.SerializerMethodField()
    confirmations_required = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    payouts = serializers.SerializerMethodField()

    def get_payment_uri(self, owner: FundedOrder) -> str:
        # Both are there once the order can be read: it is given its deposit account in the
        # transaction that creates it (funding.services.account_assign), and an account is
        # pooled only with its address (wallets.services.pool).
        account = cast(WalletAccount, owner.account)
        address = cast(str, account.address)
        return payment_uri(
            currency=owner.deposit_currency, address=address, amount=owner.amount_due
        )

    def get_payouts(self, owner: FundedOrder) -> list:
        if self.context.get("created"):
            return []
        return list(PayoutSerializer(payouts_of(owner), many=True).data)


class HistoryEventSerializer(serializers.Serializer):
    """One row of a funded order's audit trail (funding.models.FundingEvent)."""

    class Meta:
        ref_name = "OrderEvent"

    at = serializers.DateTimeField(source="created_at")
    kind = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    actor = serializers.CharField(source="actor.username", default=None)
    reason = serializers.CharField()
    # DRF's serializer metaclass takes declared fields out of the class, so this field
    # does not shadow ``Serializer.data``; the stubs cannot know that.
    data = serializers.JSONField()  # type: ignore[assignment]


class OwnershipTransferSerializer(serializers.Serializer):
    """One step of the trail of who owns a funded order's funds."""

    class Meta:
        ref_name = "OwnershipTransfer"

    at = serializers.DateTimeField(source="created_at")
    from_party = serializers.CharField()
    to_party = serializers.CharField()
    amount = serializers.SerializerMethodField()
    reason = serializers.CharField()

    def get_amount(self, transfer: OwnershipTransfer) -> str:
        return str(transfer.amount)
