"""QR codes of payment URIs, rendered on the server as inline SVG (segno)."""

from __future__ import annotations

import segno
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def qr_svg(uri: str, *, label: str, scale: int = 4) -> SafeString:
    """An inline ``<svg>`` of ``uri`` (error correction M, quiet zone included) that scales
    with its box, with a title and an accessible name so screen readers say what it is."""
    code = segno.make(uri, error="m", micro=False)
    svg = code.svg_inline(
        scale=scale,
        omitsize=True,
        title=label,
        svgclass="qr",
        lineclass="qr-line",
        dark="#000",
        light="#fff",
    )
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
    return mark_safe(svg)  # noqa: S308 - segno's own markup; the label is escaped
