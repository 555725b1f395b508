"""The API's one pagination: limit/offset, with a ceiling on the page size."""

from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    """``?limit=`` above API_MAX_PAGE_SIZE gets API_MAX_PAGE_SIZE rows, never more."""

    default_limit = settings.API_PAGE_SIZE
    max_limit = settings.API_MAX_PAGE_SIZE
