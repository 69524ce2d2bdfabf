from __future__ import annotations

import pytest

from governance.models import Policy


@pytest.fixture
def no_policies(db) -> None:
    """Start without the shipped default policies (migrations install them): the test states the ones it needs."""
    Policy.objects.all().delete()
