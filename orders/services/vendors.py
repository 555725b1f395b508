"""Where vendors are paid: one payout address per vendor and currency."""

from __future__ import annotations

from exchange.errors import ApplicationError
from orders.models import Currency, VendorPayoutAddress
from wallets.addresses import validate_address
from wallets.chains import chain_of_currency


def vendor_payout_address_set(*, user, currency: str, address: str) -> VendorPayoutAddress:
    """Set (or replace) where ``user`` is paid in ``currency``; the address must be payable
    on the network the engine runs."""
    if currency not in Currency.values:
        raise ApplicationError(f"unknown currency {currency!r}", field="currency")
    check = validate_address(chain=chain_of_currency(currency), address=address)
    if not check.valid:
        raise ApplicationError(check.error or "invalid address", field="address")
    row, _ = VendorPayoutAddress.objects.update_or_create(
        user=user, currency=currency, defaults={"address": address.strip()}
    )
    return row
