"""Where vendors are paid: one payout address per vendor and currency."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from exchange.errors import ApplicationError
from exchange.services import audit_record
from orders.models import Currency, VendorPayoutAddress
from wallets.addresses import validate_address
from wallets.chains import chain_of_currency

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def vendor_payout_address_set(*, user: User, currency: str, address: str) -> VendorPayoutAddress:
    """Set (or replace) where ``user`` is paid in ``currency``; the address must be payable
    on the network the engine runs. Each change is in the audit log with the address it
    replaced. A payout already requested keeps the address it was requested for."""
    if currency not in Currency.values:
        raise ApplicationError(f"unknown currency {currency!r}", field="currency")
    check = validate_address(chain=chain_of_currency(currency), address=address)
    if not check.valid:
        raise ApplicationError(check.error or "invalid address", field="address")
    address = address.strip()
    with transaction.atomic():
        row = (
            VendorPayoutAddress.objects.select_for_update()
            .filter(user=user, currency=currency)
            .first()
        )
        previous = row.address if row else ""
        if row is None:
            row = VendorPayoutAddress.objects.create(user=user, currency=currency, address=address)
        elif previous != address:
            row.address = address
            row.save(update_fields=["address", "updated_at"])
        if previous != address:
            audit_record(
                actor=user,
                action="vendor.payout_address",
                target=row,
                reason="set by the vendor",
                data={"currency": currency, "previous": previous, "address": address},
            )
    return row
