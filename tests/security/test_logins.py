"""Wrong passwords lock a login out (django-axes), and the pages that write are throttled
like the API."""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from rest_framework.throttling import UserRateThrottle

from tests.people import make_person


def _user(password: str):
    return get_user_model().objects.create_user(
        username=f"u-{uuid.uuid4().hex[:10]}", password=password
    )


def _login(address: str, username: str, password: str, path: str = "/accounts/login/"):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


def test_wrong_passwords_lock_the_login_out_for_that_client(live_db, settings):
    user = _user("right-password-123")
    codes = [
        _login("203.0.113.5", user.username, "wrong").status_code
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    # The form again after each wrong password, until the last allowed one locks it.
    assert codes == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    locked = _login("203.0.113.5", user.username, "right-password-123")
    assert locked.status_code == 429
    # The right password from another client still works: the lockout is per client.
    assert _login("203.0.113.6", user.username, "right-password-123").status_code == 302


def test_the_admin_login_is_locked_out_too(live_db, settings):
    user = _user("right-password-456")
    user.is_staff = True
    user.save()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login("203.0.113.7", user.username, "wrong", "/admin/login/")
    locked = _login("203.0.113.7", user.username, "right-password-456", "/admin/login/")
    assert locked.status_code == 429


def test_order_pages_that_write_are_throttled_like_the_api(live_db, monkeypatch):
    person = make_person()
    monkeypatch.setattr(UserRateThrottle, "rate", "3/min", raising=False)
    cache.delete(UserRateThrottle.cache_format % {"scope": "user", "ident": person.user.pk})
    browser = Client()
    browser.force_login(person.user)
    codes = [browser.post("/orders/new/", {}).status_code for _ in range(5)]
    assert codes[:3] == [400, 400, 400]  # an empty form, refused by the form
    assert codes[3:] == [429, 429]
    assert browser.get("/orders/new/").status_code == 200  # reading is not throttled
