"""Moving DRF authtoken's plaintext tokens into hashed API tokens (migration 0004).

A DRF key is 40 hex characters; knox looks a token up by its first TOKEN_KEY_LENGTH
characters and compares the SHA-512 of the whole string, whatever its length, so a moved
key keeps working unchanged in ``Authorization: Token <key>``. The plaintext table is
dropped once its rows are moved: nothing readable stays at rest.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from django.conf import settings
from django.utils import timezone
from knox.crypto import hash_token
from knox.settings import CONSTANTS

LEGACY_TABLE = "authtoken_token"
LEGACY_NAME = "moved from the old plaintext tokens"


def legacy_tokens_move(*, connection, token_model) -> int:
    """Hash every row of ``authtoken_token`` into ``token_model`` (write scope, expiring
    API_TOKEN_TTL_DAYS from now), then drop the table. Returns how many were moved; 0 when
    the table does not exist (a database created after rest_framework.authtoken left)."""
    if LEGACY_TABLE not in connection.introspection.table_names():
        return 0
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('key')}, {quote('user_id')}, {quote('created')}"  # noqa: S608
            f" FROM {quote(LEGACY_TABLE)}"
        )
        rows = cursor.fetchall()
    expiry = timezone.now() + timedelta(days=settings.API_TOKEN_TTL_DAYS)
    tokens = []
    for key, user_id, created in rows:
        if timezone.is_naive(created):  # a raw cursor on MariaDB: UTC, without a zone
            created = timezone.make_aware(created, UTC)
        token = token_model(
            token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
            digest=hash_token(key),
            user_id=user_id,
            expiry=expiry,
            name=LEGACY_NAME,
            scope="write",
        )
        tokens.append((token, created))
    token_model.objects.bulk_create([token for token, _ in tokens], ignore_conflicts=True)
    # ``created`` is auto_now_add: keep when each token was really made.
    for token, created in tokens:
        token_model.objects.filter(digest=token.digest).update(created=created)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {quote(LEGACY_TABLE)}")
    return len(tokens)
