"""Greenfield's invoice JSON (``InvoiceData``, ``InvoicePaymentMethodDataModel``) from an
invoice and what its prompts were paid: pure, so every field is tested without a request.

Amounts are decimal strings, as BTCPay's ``NumericStringJsonConverter`` writes them;
times are unix seconds. What was paid is exact: each prompt's live deposits as the share
of the price they cover (``invoices.services.status.share``), rounded down only where a
string must end (never shown paid before it is)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from exchange.money import payment_uri, to_display
from invoices.models import Invoice
from invoices.selectors import PromptPaid, manual_marking
from invoices.services.status import share
from wallets.chains.registry import COINS, coin
from wallets.models import Deposit

# Places a fiat price is shown with (BTCPay rounds paidAmount to the currency's digits).
FIAT_PLACES = 2


def decimal_string(value: Decimal) -> str:
    """``Decimal("30.010000000000")`` → ``"30.01"``; never an exponent."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def places_of(currency: str) -> int:
    codes = {c.code: c.decimals for c in COINS}
    return codes.get(currency.upper(), FIAT_PLACES)


def fraction_string(value: Fraction, places: int) -> str:
    """An exact amount with ``places`` places, cut toward zero (never shown paid before
    it is): ``Fraction(1, 3), 2`` → ``"0.33"``."""
    cut = int(value * 10**places)
    return f"{Decimal(cut).scaleb(-places):.{places}f}"


def unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def method_of(currency: str) -> str:
    return f"{currency}-CHAIN"


def invoice_data(
    invoice: Invoice,
    paid: Sequence[PromptPaid],
    *,
    checkout_link: str,
    payment_methods: bool = False,
) -> dict[str, Any]:
    """``InvoiceData``. ``payment_methods`` adds them (``includePaymentMethods``)."""
    covered = share(p.figures for p in paid)
    data: dict[str, Any] = {
        "id": invoice.public_id,
        "storeId": invoice.store.public_id,
        "amount": decimal_string(invoice.amount),
        "currency": invoice.currency,
        "paidAmount": fraction_string(
            covered * Fraction(invoice.amount), places_of(invoice.currency)
        ),
        "type": "Standard",
        "checkoutLink": checkout_link,
        "createdTime": unix(invoice.created_at),
        "expirationTime": unix(invoice.expires_at),
        "monitoringExpiration": unix(invoice.monitoring_expires_at),
        "status": invoice.status,
        "additionalStatus": invoice.additional_status,
        "availableStatusesForManualMarking": manual_marking(
            status=invoice.status, additional=invoice.additional_status
        ),
        "archived": invoice.archived,
        "metadata": invoice.metadata,
        "checkout": {
            "speedPolicy": invoice.speed_policy,
            "paymentMethods": [method_of(p.prompt.currency) for p in paid],
            "defaultPaymentMethod": None,
            "expirationMinutes": round(
                (invoice.expires_at - invoice.created_at).total_seconds() / 60
            ),
            "monitoringMinutes": round(
                (invoice.monitoring_expires_at - invoice.expires_at).total_seconds() / 60
            ),
            "paymentTolerance": 0,
            "redirectURL": invoice.redirect_url or None,
            "redirectAutomatically": invoice.redirect_automatically,
            "requiresRefundEmail": None,
            "defaultLanguage": None,
        },
        "receipt": {},
    }
    if payment_methods:
        data["paymentMethods"] = payment_methods_data(paid, only_accounted=True)
    return data


def payment_status(deposit: Deposit) -> str:
    """A deposit as a Greenfield payment: settled once credited, processing while seen
    and not credited, invalid once dropped from the chain."""
    if deposit.dropped:
        return "Invalid"
    return "Settled" if deposit.credited_at is not None else "Processing"


def payment_data(deposit: Deposit, *, currency: str, destination: str) -> dict[str, Any]:
    return {
        "id": f"{deposit.txid}-{deposit.output_key}",
        "receivedDate": unix(deposit.first_seen_at),
        "value": to_display(deposit.amount, currency),
        "fee": "0",
        "status": payment_status(deposit),
        "destination": destination,
    }


def payment_methods_data(
    paid: Sequence[PromptPaid], *, only_accounted: bool = True
) -> list[dict[str, Any]]:
    """``InvoicePaymentMethodDataModel`` of each prompt, in the coin. ``totalPaid`` is
    what every prompt paid, in this coin (the share of the price paid, times this
    prompt's price); ``due`` what is left (negative when overpaid), as BTCPay's uncapped
    due. Only accounted payments by default: a dropped one is shown only if asked."""
    covered = share(p.figures for p in paid)
    methods: list[dict[str, Any]] = []
    for item in paid:
        prompt = item.prompt
        currency = prompt.currency
        places = coin(currency).decimals
        activated = prompt.account_id is not None
        address = prompt.account.address if prompt.account is not None else None
        total = covered * prompt.due  # base units, exact
        left = Fraction(prompt.due) - total
        link = ""
        if activated and address:
            ask = max(int(left), 0) or prompt.due
            link = payment_uri(currency=currency, address=address, amount=ask)
        deposits = [d for d in item.deposits if not (only_accounted and d.dropped)]
        methods.append(
            {
                "paymentMethodId": method_of(currency),
                "currency": currency,
                "destination": address,
                "paymentLink": link,
                "rate": decimal_string(prompt.rate),
                "paymentMethodPaid": to_display(item.figures.seen, currency),
                "totalPaid": fraction_string(total / 10**places, places),
                "due": fraction_string(left / 10**places, places),
                "amount": to_display(prompt.due, currency),
                "paymentMethodFee": "0",
                "activated": activated,
                "additionalData": {},
                "payments": [
                    payment_data(d, currency=currency, destination=address or "") for d in deposits
                ],
            }
        )
    return methods
