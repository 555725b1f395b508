"""An invoice's status from what its prompts received (invoices/services/status.py), as
BTCPay's invoice watcher reads it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from invoices.models import AdditionalStatus as A
from invoices.models import InvoiceStatus as S
from invoices.services.status import PromptFigures, share, standing

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BTC, XMR = 100_000, 40_000_000_000  # the price asked in each coin


def after(status, additional=A.NONE, *, btc=(0, 0), xmr=(0, 0), minutes=0):
    """The status ``minutes`` after creation (it expires at 15, stops watching at 60),
    with (seen, credited) base units paid to each prompt."""
    got = standing(
        status=status,
        additional=additional,
        prompts=[PromptFigures(BTC, *btc), PromptFigures(XMR, *xmr)],
        now=NOW + timedelta(minutes=minutes),
        expires_at=NOW + timedelta(minutes=15),
        monitoring_expires_at=NOW + timedelta(minutes=60),
    )
    return got.status, got.additional


def test_nothing_paid_is_new_until_it_expires():
    assert after(S.NEW) == (S.NEW, A.NONE)
    assert after(S.NEW, minutes=15) == (S.EXPIRED, A.NONE)


def test_paid_in_full_but_unconfirmed_is_processing_and_confirmed_is_settled():
    assert after(S.NEW, btc=(BTC, 0)) == (S.PROCESSING, A.NONE)
    assert after(S.PROCESSING, btc=(BTC, BTC)) == (S.SETTLED, A.NONE)


def test_half_in_each_coin_pays_the_invoice():
    assert after(S.NEW, btc=(BTC // 2, 0), xmr=(XMR // 2, 0)) == (S.PROCESSING, A.NONE)
    assert after(S.NEW, btc=(BTC // 2, 0), xmr=(XMR // 2 - 1, 0)) == (S.NEW, A.PAID_PARTIAL)


def test_one_base_unit_short_is_partial_and_expires_partial():
    assert after(S.NEW, btc=(BTC - 1, 0)) == (S.NEW, A.PAID_PARTIAL)
    assert after(S.NEW, btc=(BTC - 1, BTC - 1), minutes=16) == (S.EXPIRED, A.PAID_PARTIAL)


def test_paying_more_is_paid_over_and_stays_so_when_settled():
    assert after(S.NEW, btc=(BTC + 1, 0)) == (S.PROCESSING, A.PAID_OVER)
    assert after(S.PROCESSING, A.PAID_OVER, btc=(BTC + 1, BTC + 1)) == (S.SETTLED, A.PAID_OVER)


def test_a_payment_after_the_expiry_is_paid_late_and_not_settled():
    assert after(S.EXPIRED, btc=(BTC, BTC), minutes=20) == (S.EXPIRED, A.PAID_LATE)


def test_a_payment_that_left_the_mempool_puts_it_back_to_new():
    assert after(S.PROCESSING, btc=(0, 0)) == (S.NEW, A.NONE)


def test_unconfirmed_past_the_monitoring_window_is_invalid():
    assert after(S.PROCESSING, btc=(BTC, 0), minutes=61) == (S.INVALID, A.NONE)
    assert after(S.PROCESSING, btc=(BTC, BTC), minutes=61) == (S.SETTLED, A.NONE)


@pytest.mark.parametrize("status", [S.SETTLED, S.INVALID])
def test_a_settled_or_invalid_invoice_keeps_its_status(status):
    assert after(status, btc=(0, 0), minutes=100)[0] == status


def test_a_status_set_by_hand_is_kept():
    assert after(S.INVALID, A.MARKED, btc=(BTC, BTC)) == (S.INVALID, A.MARKED)


def test_the_share_is_exact():
    assert share([PromptFigures(3, 1, 0), PromptFigures(3, 2, 0)]) == 1
