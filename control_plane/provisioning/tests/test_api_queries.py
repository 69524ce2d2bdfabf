"""The request list costs the same number of queries for a page of 3 requests as for a page of 40, dependencies and
synced composites included (STYLE.md: guard hot endpoints)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from control_plane.provisioning.tests.factories import ProvisioningRequestFactory
from control_plane.tests.factories import ClusterFactory
from control_plane.tests.inventory_factories import CompositeFactory
from identity.tests.factories import ApiTokenFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
PATH = "/api/v1/capabilities/databases.platform.devplat.io/requests/"


def queries_for_page(api: APIClient, count: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(PATH, {"page_size": 100})
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == count
    return len(queries)


def add_requests(team, cluster, count: int) -> None:
    """`count` applied requests with their synced composites, each after the first depending on the first."""
    first = None
    for _ in range(count):
        composite = CompositeFactory(cluster=cluster, team=team, namespace=team.name)
        request = ProvisioningRequestFactory(team=team, cluster=cluster, resource_uid=composite.uid)
        if first is None:
            first = request
        else:
            request.depends_on.add(first)


def test_a_page_of_requests_costs_the_same_queries_for_few_as_for_many():
    team, cluster = TeamFactory(name="checkout"), ClusterFactory(name="prod")
    user = MembershipFactory(team=team, user=UserFactory(username="alice")).user
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory(owner=user, scope='read').plaintext}")
    api.get(PATH)  # the token's first use records it (at most once a minute): not part of a page's cost

    add_requests(team, cluster, 3)
    few = queries_for_page(api, 3)
    add_requests(team, cluster, 37)
    many = queries_for_page(api, 40)

    assert many == few
