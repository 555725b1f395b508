"""Idempotency-Key on POST endpoints (Stripe's rules, the IETF draft's status codes).

- same key, same body, first request answered → the stored response, replayed;
- same key, different body → 422;
- same key while the first request is still running → 409 (and only then);
- keys are scoped per user, and per client address for anonymous callers (as the throttles
  see it: TRUSTED_PROXIES), so no caller can replay or squat another's key; kept 24 h;
- a 2xx or 4xx answer is stored; a 5xx or a 409 is not (the key is freed, the client
  retries: 409 means "try again" only).

The key row is inserted and committed first, under a unique constraint. The action then
runs in one transaction that holds the key row's lock and stores the answer: the action
and its stored answer commit together or not at all. A second request with the key finds
the lock held (409), or the answer (replayed), or — if the first died before committing,
which rolled its action back too — an unanswered, unlocked row it may take over at once.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from rest_framework.response import Response

from exchange.clients import client_key
from exchange.faults import fault_point
from exchange.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("Location", "Retry-After")


def _body_hash(request) -> str:
    raw = request.body or b""
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = raw
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.path.encode() + b"\n")
    digest.update(canonical)
    return digest.hexdigest()


def _problem(status: int, message: str, code: str) -> Response:
    return Response({"message": message, "code": code, "extra": {}}, status=status)


def _replay(row: IdempotencyKey) -> Response:
    replay = Response(json.loads(row.response_body or "null"), status=row.status_code)
    for name, value in row.response_headers.items():
        replay[name] = value
    replay["Idempotent-Replayed"] = "true"
    return replay


def _in_progress(key: str) -> Response:
    return _problem(
        409, f"a request with {HEADER} {key!r} is still in progress", "idempotency_in_progress"
    )


def _claim(
    scope: str, key: str, request, body_hash: str
) -> tuple[IdempotencyKey | None, Response | None]:
    """Insert the key row, or answer from the existing one. A row without an answer is
    returned to run: the row lock decides whether its first request still runs."""
    now = timezone.now()
    for _ in range(3):
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    scope=scope,
                    key=key,
                    method=request.method,
                    path=request.path[:255],
                    request_hash=body_hash,
                )
            return row, None
        except IntegrityError:
            row = IdempotencyKey.objects.filter(scope=scope, key=key).first()
            if row is None:
                continue
        if row.created_at < now - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS):
            IdempotencyKey.objects.filter(id=row.id, created_at=row.created_at).delete()
            continue
        if row.request_hash != body_hash:
            return None, _problem(
                422,
                f"{HEADER} {key!r} was used with a different request",
                "idempotency_key_reused",
            )
        if row.status_code is not None:
            return None, _replay(row)
        return row, None
    return None, _problem(409, f"{HEADER} {key!r} is contended; retry", "idempotency_in_progress")


def idempotent(view_method):
    """Decorate an APIView's ``post`` to honour the Idempotency-Key header."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            return Response({HEADER: [f"must be 1 to {MAX_KEY_LENGTH} characters"]}, status=400)
        scope = client_key(request)
        row, answer = _claim(scope, key, request, _body_hash(request))
        if answer is not None:
            return answer
        failed = False
        try:
            with transaction.atomic():
                try:
                    locked = IdempotencyKey.objects.select_for_update(nowait=True).get(id=row.id)
                except OperationalError:
                    return _in_progress(key)
                if locked.status_code is not None:
                    return _replay(locked)
                try:
                    with transaction.atomic():
                        response = view_method(self, request, *args, **kwargs)
                except Exception as exc:  # noqa: BLE001 - rendered exactly as DRF would
                    response = self.handle_exception(exc)
                if response.status_code >= 500 or response.status_code == 409:
                    # Not kept: a 5xx may pass, and a 409 is what a retry of a request still
                    # running gets; a state conflict is asked again (it changes nothing).
                    failed = True
                    transaction.set_rollback(True)
                    return response
                IdempotencyKey.objects.filter(id=row.id).update(
                    status_code=response.status_code,
                    response_body=json.dumps(response.data, cls=DjangoJSONEncoder),
                    response_headers={
                        h: response[h] for h in REPLAYED_HEADERS if response.has_header(h)
                    },
                    completed_at=timezone.now(),
                )
                fault_point("idempotency.after_action")
                return response
        except BaseException:
            failed = True
            raise
        finally:
            if failed:
                IdempotencyKey.objects.filter(id=row.id, status_code__isnull=True).delete()

    return wrapper


def idempotency_keys_purge() -> int:
    """Delete keys older than the retention period."""
    cutoff = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
