"""A resource list row is read without DRF's per-row serialization (`SummaryRows`, the API's hot path) and must read
exactly as `ResourceSummarySerializer` writes the same resource: every field, every datetime in UTC and in another
current time zone, nulls, whole seconds; and a label selector read by the ids its index finds, none included."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from control_plane.api.inventory_serializers import ResourceSummarySerializer
from control_plane.models import Resource
from control_plane.tests.inventory_factories import ResourceFactory

pytestmark = pytest.mark.django_db

EVERY_FIELD = (*ResourceSummarySerializer.FIELDS, *ResourceSummarySerializer.EXTRA_FIELDS)
MOMENT = datetime.datetime(2026, 11, 25, 9, 58, 0, tzinfo=datetime.UTC)  # whole seconds: no fraction written


@pytest.fixture
def resources(team_with_members) -> list[Resource]:
    team = team_with_members["team"]
    return [
        ResourceFactory(
            team=team,
            namespace="payments",
            labels={"app": "orders", "tier": "api"},
            conditions=[{"type": "Ready", "status": "True"}],
            generation=3,
            observed_generation=2,
            created_at_k8s=MOMENT,
            first_seen_at=MOMENT.replace(microsecond=250),
            deleting_since=MOMENT + datetime.timedelta(minutes=5, microseconds=7),
            failing_message="ReconcileError: quota",
            tree_health="degraded",
            ready=False,
        ),
        ResourceFactory(team=team, namespace="payments", created_at_k8s=None, labels={"app": "web"}),
    ]


def serialized(rows: list[Resource], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """What DRF's serializer writes for each resource."""
    objects = Resource.objects.select_related("cluster", "team").filter(pk__in=[r.pk for r in rows]).order_by("id")
    return [dict(ResourceSummarySerializer(resource, fields=fields).data) for resource in objects]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
@pytest.mark.parametrize("fields", [EVERY_FIELD, ResourceSummarySerializer.FIELDS, ("deleting_since", "name")])
def test_a_list_row_reads_as_the_serializer_writes_it(resources, platform_admin, token_client, zone, fields):
    client = token_client(platform_admin)
    with timezone.override(zone):
        response = client.get("/api/v1/resources/", {"fields": ",".join(fields), "namespace": "payments"})
        expected = serialized(resources, fields)

    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [list(row) for row in rows] == [list(fields)] * len(resources)
    assert rows == expected
    if "deleting_since" in fields and zone == "UTC":
        assert rows[0]["deleting_since"] == "2026-11-25T10:03:00.000007Z"


@pytest.mark.parametrize(
    ("selector", "expected"),
    [("app=orders", [0]), ("app in (orders,web)", [0, 1]), ("app=nothing-has-this", []), ("tier=api,app=web", [])],
)
def test_a_label_selector_read_by_index_ids_finds_exactly_its_matches(
    resources, team_with_members, token_client, selector, expected
):
    client = token_client(team_with_members["developer"])

    response = client.get("/api/v1/resources/", {"label_selector": selector})

    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [resources[n].pk for n in expected]
