"""Serializer fields shared by the API: money travels as strings of base units."""

from __future__ import annotations

import re

from rest_framework import serializers

_DIGITS = re.compile(r"^[0-9]{1,20}$")


class BaseUnitsField(serializers.CharField):
    """An amount in base units, written as a string of digits (JSON integers accepted).
    At most 20 digits; the value reaches the view as an int."""

    default_error_messages = {
        "invalid_amount": "a whole number of base units, as a string of digits"
    }

    def to_internal_value(self, data):
        if isinstance(data, bool | float):
            self.fail("invalid_amount")
        value = super().to_internal_value(data)
        if not _DIGITS.match(value):
            self.fail("invalid_amount")
        return int(value)

    def to_representation(self, value):
        return str(int(value))
