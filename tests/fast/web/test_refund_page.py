"""A refund's claim page (web/refunds.py) through Django's test client, against the
in-memory chain: what the store refunds, one claim by a POST with CSRF to an address
checked like every customer address, then where it was paid or that it waits for
approval; a second claim is refused; any other id is a plain 404; no node is called."""

from __future__ import annotations

import pytest
from django.test import Client

from invoices.models import RefundState
from invoices.services import RefundAsk, refund_create
from tests.fast import invoice_flows
from tests.fast.invoice_flows import partly_paid
from wallets.models import Payout

pytestmark = pytest.mark.django_db

# The in-memory bitcoin chain and a store taking it (tests.fast.invoice_flows).
chain, store = invoice_flows.chain, invoice_flows.store


def _refund(chain, store, paid=60_000, price="0.001"):
    invoice = partly_paid(chain, store, paid, price=price)
    return refund_create(
        invoice_id=invoice.id, ask=RefundAsk(variant="RateThen", description="Out of stock")
    )


def test_the_customer_claims_it_once_with_the_csrf_token(chain, store):
    refund = _refund(chain, store)
    url = f"/refunds/{refund.public_id}"
    client = Client(enforce_csrf_checks=True)
    page = client.get(url).content.decode()
    assert "Refund from Corner &amp; Co" in page
    assert 'data-base-units="60000"' in page
    assert "Out of stock" in page
    assert 'id="refund-claim"' in page

    assert client.post(url, {"address": "fake1customer"}).status_code == 403
    token = client.cookies["csrftoken"].value
    calls = len(chain.calls)
    wrong = client.post(url, {"address": "bc1qnotthischain", "csrfmiddlewaretoken": token})
    assert wrong.status_code == 400
    assert 'id="refund-error"' in wrong.content.decode()
    assert 'value="bc1qnotthischain"' in wrong.content.decode()

    claimed = client.post(url, {"address": "fake1customer", "csrfmiddlewaretoken": token})
    assert (claimed.status_code, claimed["Location"]) == (302, url)
    again = client.post(url, {"address": "fake1thief", "csrfmiddlewaretoken": token})
    assert again.status_code == 409
    assert "claimed already" in again.content.decode()

    page = client.get(url).content.decode()
    assert 'id="refund-claim"' not in page
    assert '<code id="refund-address">fake1customer</code>' in page
    payouts = Payout.objects.filter(owner_kind="prompt", kind="refund")
    assert list(payouts.values_list("address", "amount")) == [("fake1customer", 60_000)]
    assert chain.calls[calls:] == []  # the payout is built by its worker, not the page


def test_a_claim_above_the_threshold_says_it_waits_for_approval(chain, store):
    refund = _refund(chain, store, paid=1_000_001, price="0.02")
    url = f"/refunds/{refund.public_id}"
    client = Client()

    assert client.post(url, {"address": "fake1customer"}).status_code == 302

    refund.refresh_from_db()
    assert refund.state == RefundState.AWAITING_APPROVAL
    assert "Claimed, waiting for staff approval." in client.get(url).content.decode()
    assert not Payout.objects.filter(owner_kind="prompt", kind="refund").exists()


@pytest.mark.parametrize("refund_id", ["nothing", "a" * 22, "../admin"])
def test_any_other_id_is_a_plain_404(chain, refund_id):
    assert Client().get(f"/refunds/{refund_id}").status_code == 404
