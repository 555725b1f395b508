"""Idempotency-Key on POST (exchange/idempotency.py), on a view of its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from exchange.idempotency import MAX_KEY_LENGTH, idempotent
from exchange.models import IdempotencyKey

pytestmark = pytest.mark.django_db


class Counting(APIView):
    """Answers what the test sets in ``status`` and counts how often it ran."""

    permission_classes = [AllowAny]
    authentication_classes = []
    calls = 0
    status = 201

    @idempotent
    def post(self, request):
        type(self).calls += 1
        return Response(
            {"n": type(self).calls}, status=type(self).status, headers={"Location": "/x"}
        )


@pytest.fixture
def view():
    Counting.calls, Counting.status = 0, 201
    return Counting.as_view()


def send(view, body, key="key-1", *, path="/api/things", user=None, address="127.0.0.1"):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    request = APIRequestFactory().post(path, body, format="json", REMOTE_ADDR=address, **headers)
    if user is not None:
        force_authenticate(request, user=user)
    return view(request)


def test_the_same_key_and_body_replays_the_first_answer_without_running_again(view):
    first = send(view, {"amount": "5"})
    again = send(view, {"amount": "5"})

    assert Counting.calls == 1
    assert (again.status_code, again.data) == (201, {"n": 1})
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"] == "/x"


def test_the_same_body_with_its_keys_in_another_order_is_the_same_request(view):
    send(view, {"amount": "5", "currency": "BTC"})

    assert send(view, {"currency": "BTC", "amount": "5"}).data == {"n": 1}
    assert Counting.calls == 1


@pytest.mark.parametrize(
    "other",
    [{"amount": "6"}, {"amount": 5}, {"amount": "5", "extra": None}, {}],
)
def test_the_same_key_with_another_body_is_refused_and_runs_nothing(view, other):
    send(view, {"amount": "5"})

    refused = send(view, other)

    assert refused.status_code == 422
    assert refused.data["code"] == "idempotency_key_reused"
    assert Counting.calls == 1


def test_the_same_key_and_body_on_another_path_is_another_request_refused(view):
    send(view, {"amount": "5"})

    assert send(view, {"amount": "5"}, path="/api/other").status_code == 422


def test_a_key_is_its_callers_alone(view):
    users = get_user_model()
    alice = users.objects.create_user(username="idem-alice", password=None)
    bob = users.objects.create_user(username="idem-bob", password=None)

    send(view, {"amount": "5"}, user=alice)
    assert send(view, {"amount": "5"}, user=bob).data == {"n": 2}
    assert send(view, {"amount": "5"}, address="127.0.0.2").data == {"n": 3}
    assert send(view, {"amount": "5"}, user=alice).data == {"n": 1}


def test_a_client_error_is_kept_and_replayed(view):
    Counting.status = 400
    send(view, {"amount": "5"})
    Counting.status = 201

    again = send(view, {"amount": "5"})

    assert (again.status_code, Counting.calls) == (400, 1)


@pytest.mark.parametrize("status", [500, 503, 409])
def test_a_server_error_or_a_conflict_is_not_kept_the_retry_runs(view, status):
    Counting.status = status
    assert send(view, {"amount": "5"}).status_code == status
    assert not IdempotencyKey.objects.filter(key="key-1").exists()
    Counting.status = 201

    assert send(view, {"amount": "5"}).status_code == 201
    assert Counting.calls == 2


@pytest.mark.parametrize("key", ["", "   ", "k" * (MAX_KEY_LENGTH + 1)])
def test_an_empty_or_overlong_key_is_a_400_and_runs_nothing(view, key):
    assert send(view, {"amount": "5"}, key=key).status_code == 400
    assert Counting.calls == 0


def test_a_key_of_the_longest_length_is_honoured(view):
    key = "k" * MAX_KEY_LENGTH
    send(view, {"amount": "5"}, key=key)

    assert send(view, {"amount": "5"}, key=key).data == {"n": 1}


def test_without_a_key_every_request_runs(view):
    send(view, {"amount": "5"}, key=None)
    send(view, {"amount": "5"}, key=None)

    assert Counting.calls == 2


def test_an_expired_key_may_be_used_again(view, settings):
    send(view, {"amount": "5"})
    IdempotencyKey.objects.filter(key="key-1").update(
        created_at=IdempotencyKey.objects.get(key="key-1").created_at
        - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS + 1)
    )

    assert send(view, {"amount": "6"}).data == {"n": 2}
