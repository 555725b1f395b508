"""What the staff app's data migration does to the rows an upgraded database already holds:
the content type, and so the money-move permissions and the roles holding them, made
when approvals lived in orders."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

pytestmark = pytest.mark.django_db


@pytest.fixture
def moved():
    ContentType.objects.clear_cache()
    yield importlib.import_module("staff.migrations.0002_content_type")
    ContentType.objects.clear_cache()


def test_approvals_keep_their_content_type_and_the_roles_their_permissions(moved):
    before = ContentType.objects.get(app_label="staff", model="staffapproval").id
    release = Permission.objects.get(content_type_id=before, codename="release_escrow")
    payments = set(Group.objects.get(name="payments").permissions.values_list("id", flat=True))

    moved.backward(apps, None)
    assert ContentType.objects.get(app_label="orders", model="staffapproval").id == before
    moved.forward(apps, None)

    assert ContentType.objects.get(app_label="staff", model="staffapproval").id == before
    assert not ContentType.objects.filter(app_label="orders", model="staffapproval").exists()
    assert Permission.objects.get(codename="release_escrow", content_type__app_label="staff") == (
        release
    )
    assert release.id in payments
    assert set(Group.objects.get(name="payments").permissions.values_list("id", flat=True)) == (
        payments
    )


def test_a_content_type_already_made_for_staff_is_left_alone(moved):
    current = ContentType.objects.get(app_label="staff", model="staffapproval")
    stale = ContentType.objects.create(app_label="orders", model="staffapproval")

    moved.forward(apps, None)

    current.refresh_from_db()
    stale.refresh_from_db()
    assert (current.app_label, stale.app_label) == ("staff", "orders")
