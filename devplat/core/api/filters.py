"""Query-parameter filters: django-filter, with booleans that refuse what is not one.

django-filter reads `?enabled=maybe` as no filter at all and answers with everything, which a client would take
for an answer to the question it asked. Here a boolean filter takes `true`/`false` (or `1`/`0`, any case) and
anything else, an empty value included, is a 400 naming the parameter, like every other invalid filter.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django_filters import filters
from django_filters import rest_framework as drf_filters

BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


class StrictBooleanField(forms.NullBooleanField):
    widget = forms.TextInput  # the raw text reaches `to_python`, which decides

    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]  # None: no filter
        if value is None:
            return None
        if value == "":  # given but empty: not an answer to "true or false?"
            raise ValidationError("Use true or false, or leave the parameter out.", code="invalid")
        if isinstance(value, bool):
            return value
        try:
            return BOOLEANS[str(value).strip().lower()]
        except KeyError:
            raise ValidationError("Use true or false.", code="invalid") from None

    def validate(self, value: Any) -> None:
        """Any of true, false and absent is fine."""


class BooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField


class FilterSet(drf_filters.FilterSet):
    FILTER_DEFAULTS = {
        **drf_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
        models.NullBooleanField: {"filter_class": BooleanFilter},
    }


class FilterBackend(drf_filters.DjangoFilterBackend):
    """The default filter backend: `filterset_fields` build their filter sets from `FilterSet` above."""

    filterset_base = FilterSet
