"""The staff view of the snapshots: read-only, with each provider's status."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rates.models import RateSnapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def snapshots(exchanges, refresh):
    exchanges.set("kucoin", "500")
    exchanges.quote("bitfinex", "XMR/BTC", "0.0035")
    partial = refresh()
    for name in ("kraken", "coingecko"):
        exchanges.set(name, "garbage")
    failed = refresh()
    return partial, failed


def test_the_list_shows_rate_ok_sources_used_and_provider_status(admin_client, snapshots):
    partial, failed = snapshots

    page = admin_client.get(reverse("admin:rates_ratesnapshot_changelist"))

    assert page.status_code == 200
    html = page.content.decode()
    assert "2 of 4" in html  # kraken and coingecko used
    assert "0 of 4" in html
    assert "unavailable: HTTP 500" in html
    assert "dropped:" in html
    assert "quorum not met" in html or "no provider answered" in html


def test_the_list_filters_on_ok_and_on_a_provider_not_used(admin_client, snapshots):
    partial, failed = snapshots
    url = reverse("admin:rates_ratesnapshot_changelist")

    xmr_btc = {"pair": "XMR/BTC"}  # each refresh stores one snapshot per pair

    ok_page = admin_client.get(url, {"ok__exact": "1", **xmr_btc})
    kraken_page = admin_client.get(url, {"provider_not_used": "kraken", **xmr_btc})
    kucoin_page = admin_client.get(url, {"provider_not_used": "kucoin", **xmr_btc})

    assert list(ok_page.context["cl"].result_list) == [partial]
    assert list(kraken_page.context["cl"].result_list) == [failed]
    assert set(kucoin_page.context["cl"].result_list) == {partial, failed}


def test_snapshots_are_read_only(admin_client, snapshots):
    partial, _ = snapshots

    detail = admin_client.get(reverse("admin:rates_ratesnapshot_change", args=[partial.id]))
    add = admin_client.get(reverse("admin:rates_ratesnapshot_add"))
    delete = admin_client.post(
        reverse("admin:rates_ratesnapshot_delete", args=[partial.id]), {"post": "yes"}
    )

    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert "&quot;used&quot;: true" in detail.content.decode()
    assert add.status_code == 403
    assert delete.status_code == 403
    assert RateSnapshot.objects.filter(id=partial.id).exists()
