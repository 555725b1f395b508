"""Forms of the order, token and store pages. Amounts are typed in whole units and leave
as base units."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.conf import settings

from exchange.models import ApiTokenScope
from exchange.money import DECIMALS
from orders.models import Currency
from stores.models import PAYMENT_METHODS, Settlement, SpeedPolicy
from stores.permissions import (
    CAN_CREATE_INVOICE,
    CAN_CREATE_NON_APPROVED_PULL_PAYMENTS,
    CAN_MODIFY_INVOICES,
    CAN_MODIFY_WEBHOOKS,
    CAN_VIEW_INVOICES,
    CAN_VIEW_STORE_SETTINGS,
    POLICIES,
)

_WHOLE_UNITS = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,12})?$")


def whole_to_base_units(text: str, currency: str) -> int:
    """``"0.05", "BTC"`` → ``5000000``. Decimal arithmetic only; raises ValidationError
    for anything that is not a plain positive decimal with at most the currency's places."""
    text = (text or "").strip().replace(",", ".")
    if not _WHOLE_UNITS.match(text):
        raise forms.ValidationError(f"enter an amount in {currency}, such as 0.05")
    places = DECIMALS[currency]
    if "." in text and len(text.split(".", 1)[1]) > places:
        raise forms.ValidationError(f"{currency} has at most {places} decimal places")
    base = int(Decimal(text).scaleb(places))
    if base <= 0:
        raise forms.ValidationError("must be more than zero")
    return base


class OrderCreateForm(forms.Form):
    """A new escrow order, as the buyer types it."""

    currency = forms.ChoiceField(choices=Currency.choices, initial=Currency.BTC)
    amount = forms.CharField(
        max_length=32,
        help_text="In whole units, e.g. 0.05 BTC.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    vendor = forms.CharField(
        max_length=150,
        label="Vendor username",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    description = forms.CharField(max_length=500, required=False)
    refund_address = forms.CharField(
        max_length=128,
        required=False,
        help_text="Where a refund goes. You can also set it later.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "data-validate": "address",
                "data-currency-source": "id_currency",
            }
        ),
    )

    def clean(self) -> dict:
        data = super().clean()
        if "currency" in data and "amount" in data:
            try:
                data["amount_base_units"] = whole_to_base_units(data["amount"], data["currency"])
            except forms.ValidationError as error:
                self.add_error("amount", error)
        return data


class OrderActionForm(forms.Form):
    """Release, refund or dispute: an optional reason (the dispute service requires one)
    and the confirmation that the customer has seen what the action does."""

    reason = forms.CharField(max_length=500, required=False)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class ApiTokenCreateForm(forms.Form):
    """A new API token: what it is for, what it may do, how long it lives."""

    name = forms.CharField(
        max_length=100,
        help_text="What uses it, e.g. “shop order watcher”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    scope = forms.ChoiceField(
        choices=[
            (ApiTokenScope.READ, "read: it can only look (orders, swaps, status)"),
            (ApiTokenScope.WRITE, "write: it can do everything you can"),
        ],
        initial=ApiTokenScope.READ,
        widget=forms.RadioSelect,
    )
    days = forms.IntegerField(
        min_value=1,
        max_value=settings.API_TOKEN_MAX_DAYS,
        initial=settings.API_TOKEN_TTL_DAYS,
        label="Expires after (days)",
    )


class StoreCreateForm(forms.Form):
    """A new store: what it is called, what its invoices are priced in and paid with."""

    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    default_currency = forms.CharField(
        max_length=8,
        initial="USD",
        label="Default currency",
        help_text="What invoices are priced in unless they say, e.g. USD, EUR or BTC.",
    )
    speed_policy = forms.ChoiceField(
        choices=SpeedPolicy.choices,
        initial=SpeedPolicy.MEDIUM,
        label="Confirmations before an invoice is settled",
    )
    payment_methods = forms.MultipleChoiceField(
        choices=[(m, m) for m in PAYMENT_METHODS],
        initial=list(PAYMENT_METHODS),
        widget=forms.CheckboxSelectMultiple,
        label="Payment methods",
    )
    settlement = forms.ChoiceField(
        choices=Settlement.choices, initial=Settlement.PAYOUT, widget=forms.RadioSelect
    )


class ApiKeyCreateForm(forms.Form):
    """A new Greenfield API key: for which store (or all), allowed to do what. The initial
    permissions are those the WooCommerce plugin asks for."""

    label = forms.CharField(
        max_length=100,
        help_text="What uses it, e.g. “WooCommerce shop”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    store = forms.ChoiceField(
        required=False,
        label="Store",
        help_text="A key for one store is what shop plugins expect.",
    )
    policies = forms.MultipleChoiceField(
        choices=list(POLICIES.items()),
        initial=[
            CAN_VIEW_INVOICES,
            CAN_CREATE_INVOICE,
            CAN_MODIFY_INVOICES,
            CAN_VIEW_STORE_SETTINGS,
            CAN_MODIFY_WEBHOOKS,
            CAN_CREATE_NON_APPROVED_PULL_PAYMENTS,
        ],
        widget=forms.CheckboxSelectMultiple,
        label="Permissions",
    )

    def __init__(self, *args, stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", "All my stores")] + [
            (store.public_id, f"{store.name} ({store.public_id})") for store in stores
        ]
        if stores:
            self.fields["store"].initial = stores[0].public_id

    def permissions(self) -> list[str]:
        """Greenfield permission strings, each for the chosen store (or unscoped), in the
        order of ``POLICIES``."""
        store = self.cleaned_data["store"]
        chosen = [p for p in POLICIES if p in self.cleaned_data["policies"]]
        return [f"{p}:{store}" if store else p for p in chosen]
