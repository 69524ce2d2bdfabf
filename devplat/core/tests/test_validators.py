"""The one DNS-label rule that names teams, namespaces, clusters, policies and requested instances."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from devplat.core.validators import dns_label


@pytest.mark.parametrize("name", ["payments", "team-checkout", "a", "a" * 63, "0db"])
def test_a_dns_label_is_accepted(name):
    dns_label(name)


@pytest.mark.parametrize("name", ["", "Payments", "-db", "db-", "a.b", "a" * 64, "payments\n", "pay ments"])
def test_anything_else_is_refused_trailing_newline_included(name):
    with pytest.raises(ValidationError, match="Use a DNS label"):
        dns_label(name)
