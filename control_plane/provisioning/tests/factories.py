"""Provisioning requests as the service would have recorded them, for tests of the read paths (no cluster calls)."""

from __future__ import annotations

import factory

from control_plane.choices import RequestStatusChoices
from control_plane.models import ProvisioningRequest
from control_plane.tests.factories import ClusterFactory
from control_plane.tests.inventory_factories import ValidatedFactory
from identity.tests.factories import TeamFactory


class ProvisioningRequestFactory(ValidatedFactory):
    """An applied request for a Database in its team's namespace (named after the team)."""

    class Meta:
        model = ProvisioningRequest

    team = factory.SubFactory(TeamFactory)
    cluster = factory.SubFactory(ClusterFactory)
    capability = "databases.platform.devplat.io"
    api_version = "platform.devplat.io/v1alpha1"
    kind = "Database"
    namespace = factory.SelfAttribute("team.name")
    name = factory.Sequence(lambda n: f"db-{n}")
    parameters = factory.LazyFunction(lambda: {"size": "small"})
    status = RequestStatusChoices.APPLIED
