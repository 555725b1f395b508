"""Stores and their Greenfield API keys: making them, revoking keys, reading a presented
key back to its row, and what a key allows."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from exchange.errors import ApplicationError, ConflictError, NotFoundError
from exchange.services import audit_record
from stores import permissions as greenfield_permissions
from stores.models import PAYMENT_METHODS, ApiKey, Settlement, SpeedPolicy, Store

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Greenfield's bounds (StoreBaseData): an invoice expires 1 minute to 24 days after it
# is made; a paid invoice is followed 10 minutes to 24 days after it expired.
EXPIRATION_MINUTES = (1, 34_560)
MONITORING_MINUTES = (10, 34_560)
_CURRENCY = re.compile(r"^[A-Z]{3,8}$")
_KEY = re.compile(r"^[0-9a-f]{40}$")
# A key's last use is written at most this often: reading a store is not a write each time.
LAST_USED_PRECISION = timedelta(seconds=60)


def _max_length(model: type[Store] | type[ApiKey], field: str) -> int:
    return int(getattr(model._meta.get_field(field), "max_length", None) or 0)


def _lock_user(user: User) -> None:
    """The user's row lock makes a count and the insert after it one step for that user."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


STORE_FIELDS = (
    "name",
    "default_currency",
    "speed_policy",
    "invoice_expiration_minutes",
    "monitoring_minutes",
    "payment_methods",
    "lazy_payment_methods",
    "settlement",
)


def store_fields_clean(
    *,
    name: str,
    default_currency: str = "USD",
    speed_policy: str = SpeedPolicy.MEDIUM,
    invoice_expiration_minutes: int = 15,
    monitoring_minutes: int = 1440,
    payment_methods: list[str] | None = None,
    lazy_payment_methods: bool = False,
    settlement: str = Settlement.PAYOUT,
) -> dict[str, Any]:
    """A store's settings as they will be kept, or ApplicationError naming the field: a
    name, a currency code, Greenfield's speed policies and time bounds, and one or more of
    the engine's payment methods (kept in the coin registry's order)."""
    name = (name or "").strip()
    if not name or len(name) > _max_length(Store, "name"):
        raise ApplicationError("give the store a name of 1 to 100 characters", field="name")
    currency = (default_currency or "").strip().upper()
    if not _CURRENCY.match(currency):
        raise ApplicationError("a currency code such as USD, EUR or BTC", field="default_currency")
    if speed_policy not in SpeedPolicy.values:
        raise ApplicationError(f"one of {SpeedPolicy.values}", field="speed_policy")
    if settlement not in Settlement.values:
        raise ApplicationError(f"one of {Settlement.values}", field="settlement")
    for field, value, (low, high) in (
        ("invoice_expiration_minutes", invoice_expiration_minutes, EXPIRATION_MINUTES),
        ("monitoring_minutes", monitoring_minutes, MONITORING_MINUTES),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ApplicationError(f"a whole number of minutes from {low} to {high}", field=field)
    methods = list(PAYMENT_METHODS) if payment_methods is None else payment_methods
    if (
        not isinstance(methods, list)
        or not methods
        or not all(isinstance(m, str) and m in PAYMENT_METHODS for m in methods)
    ):
        raise ApplicationError(f"one or more of {list(PAYMENT_METHODS)}", field="payment_methods")
    return {
        "name": name,
        "default_currency": currency,
        "speed_policy": speed_policy,
        "invoice_expiration_minutes": invoice_expiration_minutes,
        "monitoring_minutes": monitoring_minutes,
        "payment_methods": [m for m in PAYMENT_METHODS if m in methods],
        "lazy_payment_methods": bool(lazy_payment_methods),
        "settlement": settlement,
    }


def store_create(*, owner: User, name: str, **settings_: Any) -> Store:
    """A new store of ``owner`` with the settings ``store_fields_clean`` takes (its
    defaults for those not given); at most STORES_PER_USER each."""
    fields = store_fields_clean(name=name, **settings_)
    with transaction.atomic():
        _lock_user(owner)
        limit = settings.STORES_PER_USER
        if Store.objects.filter(owner=owner).count() >= limit:
            raise ConflictError(f"at most {limit} stores per user", code="too_many_stores")
        return Store.objects.create(owner=owner, **fields)


def store_update(*, store: Store, archived: bool | None = None, **changes: Any) -> Store:
    """Change some of a store's settings (``STORE_FIELDS``, and ``archived``); the others
    stay as they are. Its owner and id never change: its keys name it by them."""
    current = {field: getattr(store, field) for field in STORE_FIELDS}
    fields = store_fields_clean(**{**current, **changes})
    for field, value in fields.items():
        setattr(store, field, value)
    if archived is not None:
        store.archived = bool(archived)
    store.save(update_fields=[*STORE_FIELDS, "archived"])
    return store


def api_key_permissions_clean(*, owner: User, permissions: list[str]) -> list[str]:
    """The permissions as they will be kept: each one a policy this engine offers, alone or
    on a store of ``owner``; duplicates dropped, the order kept (clients read the store id
    from the first one)."""
    given = permissions
    if not isinstance(given, list) or not given:
        raise ApplicationError("give the key at least one permission", field="permissions")
    owned = set(Store.objects.filter(owner=owner).values_list("public_id", flat=True))
    kept: list[str] = []
    for text in given:
        permission = greenfield_permissions.parse(text)
        if permission is None or permission.policy not in greenfield_permissions.POLICIES:
            raise ApplicationError(
                f"{text!r} is not a permission this server offers", field="permissions"
            )
        if permission.store_id is not None and permission.store_id not in owned:
            raise ApplicationError(f"{text!r} names a store that is not yours", field="permissions")
        if str(permission) not in kept:
            kept.append(str(permission))
    return kept


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def api_key_create(*, owner: User, label: str, permissions: list[str]) -> tuple[ApiKey, str]:
    """A new Greenfield key of ``owner``: the row (the key's digest only) and the key
    itself, to be shown once. At most GREENFIELD_KEYS_PER_USER unrevoked keys each."""
    label = (label or "").strip()
    if not label or len(label) > _max_length(ApiKey, "label"):
        raise ApplicationError("give the key a label of 1 to 100 characters", field="label")
    with transaction.atomic():
        _lock_user(owner)
        kept = api_key_permissions_clean(owner=owner, permissions=permissions)
        limit = settings.GREENFIELD_KEYS_PER_USER
        if ApiKey.objects.filter(owner=owner, revoked_at__isnull=True).count() >= limit:
            raise ConflictError(
                f"at most {limit} API keys per user: revoke one first", code="too_many_keys"
            )
        plaintext = secrets.token_hex(20)
        key = ApiKey.objects.create(
            owner=owner,
            label=label,
            prefix=plaintext[: ApiKey.PREFIX_LENGTH],
            key_hash=_digest(plaintext),
            permissions=kept,
        )
    return key, plaintext


def api_key_revoke(*, owner: User, key_id: int) -> None:
    """Revoke one of ``owner``'s keys at once. Another user's key, or one already revoked,
    is not found."""
    revoked = ApiKey.objects.filter(id=key_id, owner=owner, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if not revoked:
        raise NotFoundError("no such key")


def api_key_revoke_by_staff(*, actor: User, key: ApiKey, reason: str) -> None:
    """Revoke any merchant's key from the admin, with an audit row."""
    with transaction.atomic():
        revoked = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            audit_record(
                actor=actor,
                action="greenfield_key.revoke",
                target=key,
                reason=reason,
                data={"owner_id": key.owner_id, "label": key.label, "prefix": key.prefix},
            )


def api_key_authenticate(*, plaintext: str) -> ApiKey | None:
    """The unrevoked key of an active user that ``plaintext`` is, or None. The row is found
    by the key's first characters; the digests are then compared in constant time, every
    candidate's, so how long it takes says nothing about how close a guess came."""
    plaintext = (plaintext or "").strip().lower()
    if not _KEY.match(plaintext):
        return None
    digest = _digest(plaintext)
    found = None
    for candidate in ApiKey.objects.filter(
        prefix=plaintext[: ApiKey.PREFIX_LENGTH], revoked_at__isnull=True
    ).select_related("owner"):
        if hmac.compare_digest(candidate.key_hash, digest) and found is None:
            found = candidate
    if found is None or not found.owner.is_active:
        return None
    now = timezone.now()
    stale = now - LAST_USED_PRECISION
    if found.last_used_at is None or found.last_used_at < stale:
        ApiKey.objects.filter(pk=found.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)
        ).update(last_used_at=now)
    return found


def api_key_allows(*, key: ApiKey, permission: str, store: Store | None) -> bool:
    """May ``key`` do ``permission`` (a policy, ``stores.permissions``) on ``store``? A key
    acts only on its owner's stores. ``store`` None asks whether it may on some store (a
    list, whose stores are each checked after)."""
    if not key.active:
        return False
    if store is not None and store.owner_id != key.owner_id:
        return False
    store_id = store.public_id if store is not None else None
    held = (greenfield_permissions.parse(text) for text in key.permissions)
    return any(
        p is not None and greenfield_permissions.grants(p, permission, store_id) for p in held
    )
