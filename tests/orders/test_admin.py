"""Staff work in the admin: every list opens, actions ask for a reason and record it."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client

from funding.models import FundingState
from orders.models import EscrowOrder, OrderState
from tests.orders.test_api import body


@pytest.fixture
def staff_client(staff):
    staff.user.is_superuser = True
    staff.user.save()
    client = Client()
    client.force_login(staff.user)
    return client


def test_every_admin_list_opens_for_staff(staff_client, buyer, vendor):
    buyer.api.post("/api/orders", body(vendor), format="json")
    for model in admin.site._registry:
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert staff_client.get(url).status_code == 200, url


def test_the_admin_refuses_customers(buyer):
    client = Client()
    client.force_login(buyer.user)

    response = client.get("/admin/orders/escroworder/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_an_admin_action_asks_for_a_reason_then_records_it(staff_client, staff, buyer, vendor):
    order = buyer.api.post("/api/orders", body(vendor), format="json").json()
    url = "/admin/orders/escroworder/"
    form = {"action": "cancel", "_selected_action": [order["id"]]}

    page = staff_client.post(url, form)
    assert page.status_code == 200
    assert b'name="reason"' in page.content
    assert EscrowOrder.objects.get(id=order["id"]).state == FundingState.AWAITING_DEPOSIT

    staff_client.post(url, {**form, "apply": "1", "reason": "customer asked by email"})

    row = EscrowOrder.objects.get(id=order["id"])
    assert row.state == OrderState.CANCELLED
    event = row.events.get(to_state=OrderState.CANCELLED)
    assert event.actor == staff.user
    assert event.reason == "customer asked by email"
