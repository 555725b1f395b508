"""Template helpers for the web pages: amounts in whole units, base units in a tooltip."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from exchange.money import DECIMALS, to_display
from web.qr import qr_svg

register = template.Library()

BASE_UNIT_NAMES = {"BTC": "satoshi", "XMR": "piconero"}


@register.simple_tag
def amount(value: int, currency: str) -> SafeString:
    """``1500000, "BTC"`` → ``<span class="amount" title="1500000 satoshi">0.01500000 BTC</span>``."""
    base = int(value)
    return format_html(
        '<span class="amount" title="{} {}" data-base-units="{}">{} {}</span>',
        base,
        BASE_UNIT_NAMES[currency],
        base,
        to_display(base, currency),
        currency,
    )


@register.simple_tag
def qr(uri: str, label: str) -> SafeString:
    """The payment URI as an inline SVG QR code."""
    return qr_svg(uri, label=label)


@register.filter
def party(name: str) -> str:
    """Ledger party names for people: ``escrow:order:12`` → ``escrow (order 12)``."""
    kind, _, rest = name.partition(":")
    if not rest:
        return name
    return f"{kind} ({rest.replace(':', ' ')})"


@register.filter
def whole(value: int, currency: str) -> str:
    """Base units as whole units, without the currency: ``1500000|whole:"BTC"`` → ``0.01500000``."""
    return to_display(int(value), currency)


@register.filter
def clock(seconds: int | None) -> str:
    """Seconds left as ``m:ss`` (``h:mm:ss`` from an hour up)."""
    if seconds is None:
        return ""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


@register.filter
def price(value: Decimal, currency: str) -> str:
    """A price in a pricing currency, as shops write it: a fiat one with its cents
    (``Decimal("12.5"), "USD"`` → ``12.50 USD``), a coin with the digits it has
    (``Decimal("0.000500000000"), "BTC"`` → ``0.0005 BTC``)."""
    amount = Decimal(value).normalize()
    if currency not in DECIMALS and amount.as_tuple().exponent > -2:
        amount = amount.quantize(Decimal("0.01"))
    return f"{amount:f} {currency}"
