"""The environment every setting is read from, the project's paths, and value parsers.

``env`` reads the process environment, after loading ``.env`` beside manage.py if it is
there (real environment variables win). ``environ_matching`` finds variables by the shape
of their names (settings named by pattern). ``confirmation_table`` parses the
``LIMIT:CONFIRMATIONS`` tables of the coins' blocks and refuses, at start-up, one that
could credit a deposit too early.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")


def environ_matching(pattern: str) -> dict[str, str]:
    """Every environment variable (``.env`` included) whose whole name matches ``pattern``."""
    return {name: value for name, value in os.environ.items() if re.fullmatch(pattern, name)}


def confirmation_table(name: str, default: str) -> list[tuple[int | None, int]]:
    """``"10000000:1,100000000:2,*:6"``: up to 10000000 base units 1 confirmation, ..."""
    table: list[tuple[int | None, int]] = []
    for step in env.str(name, default=default).split(","):
        limit, _, confirmations = step.strip().partition(":")
        if not confirmations.isdigit() or not (limit == "*" or limit.isdigit()):
            raise ImproperlyConfigured(f"{name}: {step!r} is not LIMIT:CONFIRMATIONS")
        table.append((None if limit == "*" else int(limit), int(confirmations)))
    if table[-1][0] is not None:
        raise ImproperlyConfigured(f"{name} must end with a *:N step")
    limits = [limit for limit, _ in table[:-1]]
    needed = [confirmations for _, confirmations in table]
    if None in limits or limits != sorted(set(limits)) or needed != sorted(needed) or needed[0] < 1:
        raise ImproperlyConfigured(
            f"{name}: limits must rise, confirmations start at 1 or more and never fall"
        )
    return table
