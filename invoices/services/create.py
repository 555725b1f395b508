"""Making an invoice: its price, its prompts (one per coin the store takes, priced at the
rate of the moment and locked for the invoice's life) and, unless the store says to wait
for the customer's choice, a deposit account for each prompt (from the pool: no node
call)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from exchange.errors import ApplicationError
from funding.fees import platform_fee_bps
from funding.models import EventKind
from funding.services import account_assign, confirmations_required
from funding.states import StateConflict, note
from invoices.models import Invoice, InvoiceStatus, PaymentPrompt
from invoices.services.events import invoice_event
from invoices.services.pricing import price_in
from orders.selectors import vendor_payout_address
from stores.models import CONFIRMATIONS_OF_SPEED, PAYMENT_METHODS, Settlement, SpeedPolicy, Store
from wallets.chains.registry import coin

# The most base units a prompt may ask (its ``due`` column is a signed-safe BIGINT): more
# than any coin's supply, so only an absurd price reaches it.
MAX_DUE = 2**63 - 1

# Greenfield's older names of the on-chain methods.
METHOD_ALIASES = {
    alias: f"{code}-CHAIN" for code in ("BTC", "XMR") for alias in (code, f"{code}_CHAIN")
}


def method_id(name: str) -> str:
    """A payment method id in Greenfield's form (``BTC-CHAIN``), from any name it had."""
    name = (name or "").strip()
    return METHOD_ALIASES.get(name.upper(), name.upper())


def invoice_create(
    *,
    store: Store,
    amount: Decimal | str,
    currency: str = "",
    metadata: dict[str, Any] | None = None,
    speed_policy: str = "",
    payment_methods: list[str] | None = None,
    expiration_minutes: int | None = None,
    monitoring_minutes: int | None = None,
    redirect_url: str = "",
    redirect_automatically: bool = False,
) -> Invoice:
    """A new invoice of ``store`` for ``amount`` of ``currency`` (the store's default
    currency unless said). Refused, naming the field, for a price that is not positive, a
    method the store does not take, no method left, or a method whose coin the merchant has
    no payout address for (a settled invoice would have nowhere to go)."""
    price = _price(amount)
    currency = (currency or store.default_currency).strip().upper()
    methods = _methods(store, payment_methods)
    policy = speed_policy or store.speed_policy
    if policy not in SpeedPolicy.values:
        raise ApplicationError(f"unknown speed policy {policy!r}", field="checkout.speedPolicy")
    now = timezone.now()
    expires_at = now + timedelta(
        minutes=_minutes(
            expiration_minutes, store.invoice_expiration_minutes, "checkout.expirationMinutes"
        )
    )
    monitoring = _minutes(
        monitoring_minutes, store.monitoring_minutes, "checkout.monitoringMinutes"
    )
    metadata = dict(metadata or {})
    with transaction.atomic():
        invoice = Invoice.objects.create(
            store=store,
            amount=price,
            currency=currency,
            metadata=metadata,
            order_id=str(metadata.get("orderId") or "")[:100],
            speed_policy=policy,
            redirect_url=redirect_url or "",
            redirect_automatically=bool(redirect_automatically),
            expires_at=expires_at,
            monitoring_expires_at=expires_at + timedelta(minutes=monitoring),
        )
        for method in methods:
            prompt = _prompt(invoice, method, now)
            if not store.lazy_payment_methods:
                prompt_activate(prompt=prompt)
        invoice_event(invoice, "InvoiceCreated")
    return invoice


def prompt_activate(*, prompt: PaymentPrompt) -> PaymentPrompt:
    """Give the prompt its deposit account, once (a second call changes nothing). The
    check is made under the invoice's and the prompt's row locks, in that order: two
    customers choosing the coin at once, or a caller holding a stale row, get the one
    address, never a second that replaces the first."""
    if prompt.account_id is not None:
        return prompt
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(id=prompt.invoice_id)
        locked = PaymentPrompt.objects.select_for_update().get(id=prompt.id)
        if locked.account_id is None:
            if invoice.status != InvoiceStatus.NEW:
                raise StateConflict(f"invoice {invoice.public_id} is {invoice.status}")
            account_assign(locked, activated_at=timezone.now())
            note(locked, kind=EventKind.CREATED, data={"invoice": invoice.public_id})
    prompt.account, prompt.activated_at = locked.account, locked.activated_at
    return prompt


def _prompt(invoice: Invoice, method: str, now: Any) -> PaymentPrompt:
    target = coin(method.split("-")[0])
    price = price_in(target, amount=invoice.amount, currency=invoice.currency)
    if price.due > MAX_DUE:
        raise ApplicationError(
            f"the amount is more than can be asked in {target.code}", field="amount"
        )
    return PaymentPrompt.objects.create(
        invoice=invoice,
        store_owner_id=invoice.store.owner_id,
        currency=target.code,
        rate=price.rate,
        due=price.due,
        fee_bps=platform_fee_bps(),
        confirmations_required=max(
            confirmations_required(currency=target.code, amount=price.due),
            CONFIRMATIONS_OF_SPEED[SpeedPolicy(invoice.speed_policy)],
        ),
        expires_at=invoice.expires_at,
    )


def _price(amount: Decimal | str) -> Decimal:
    try:
        price = Decimal(str(amount).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ApplicationError(f"{amount!r} is not an amount", field="amount") from exc
    if not price.is_finite() or price <= 0:
        raise ApplicationError("the amount must be positive", field="amount")
    if price >= Decimal(10) ** 18 or price.quantize(Decimal("1e-12")) != price:
        raise ApplicationError("the amount has too many digits", field="amount")
    return price


def _methods(store: Store, asked: list[str] | None) -> list[str]:
    offered = [m for m in store.payment_methods if m in PAYMENT_METHODS]
    if asked:
        methods = []
        for name in asked:
            method = method_id(name)
            if method not in offered:
                raise ApplicationError(
                    f"the store does not take {name}", field="checkout.paymentMethods"
                )
            if method not in methods:
                methods.append(method)
    else:
        methods = offered
    if not methods:
        raise ApplicationError("the store takes no payment method", field="checkout.paymentMethods")
    if store.settlement == Settlement.PAYOUT:
        for method in methods:
            code = method.split("-")[0]
            if not vendor_payout_address(vendor_id=store.owner_id, currency=code):
                raise ApplicationError(
                    f"the store has no {code} payout address", field="checkout.paymentMethods"
                )
    return methods


def _minutes(value: int | None, default: int, field: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 525_600:
        raise ApplicationError("must be whole minutes between 1 and 525600", field=field)
    return value
