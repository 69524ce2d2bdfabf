"""The shapes that keep resource lists fast at any size (issue 5's speed targets; the figures are bench/api.py's):
a selective label selector is read by the ids its GIN index finds, whatever the planner would estimate; the
permission filter is the visible teams' ids as values, read fresh on every request, so a change of membership or
grant shows on the very next request."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from control_plane import selectors
from control_plane.models import Resource
from control_plane.tests.inventory_factories import ResourceFactory
from identity import services as identity
from identity.models import Team
from identity.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

COMMON = 10_000  # rows sharing `tier=web`, more than LABEL_MATCHES_RESOLVED: no id list for it
RARE = 40  # rows of `app=rare`


@pytest.fixture
def payments() -> Team:
    team = identity.team_create(name="payments")
    identity.namespace_assign(team=team, namespace="payments")
    return team


@pytest.fixture
def member(payments: Team) -> Any:
    user = UserFactory(username="dev")
    identity.membership_set(team=payments, user=user, role="developer")
    return user


@pytest.fixture
def many(payments: Team) -> list[int]:
    """COMMON rows of payments, RARE of them labelled app=rare, spread over the id range; analyzed, as a synced
    table is."""
    template = ResourceFactory(team=payments, namespace="payments", labels={"tier": "web"})
    now = timezone.now()
    rows = [
        Resource(
            cluster=template.cluster,
            resource_type=template.resource_type,
            api_version="v1",
            kind="ConfigMap",
            namespace="payments",
            name=f"cm-{n}",
            team=payments,
            uid=str(uuid.uuid4()),
            resource_version=str(n),
            labels={"tier": "web", **({"app": "rare"} if n % (COMMON // RARE) == 0 else {"app": f"app-{n}"})},
            content_hash=uuid.uuid4().hex,
            first_seen_at=now,
            last_seen_at=now,
        )
        for n in range(COMMON)
    ]
    Resource.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE control_plane_resource")
    return sorted(Resource.objects.filter(labels__contains={"app": "rare"}).values_list("pk", flat=True))


def sql_of(queryset: Any) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        return cursor.mogrify(sql, params)


def page_sql(user: Any, **filters: Any) -> str:
    return sql_of(selectors.resources_for(user, **filters).order_by("id")[:101])


def plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def test_a_selective_label_selector_is_read_by_the_ids_its_index_finds(member, many):
    found = selectors.resources_for(member, label_selector="app=rare")
    assert sorted(found.values_list("pk", flat=True)) == many
    sql = page_sql(member, label_selector="app=rare")
    assert "ANY" in sql or " IN (" in sql
    assert all(str(pk) in sql for pk in many)
    # The index answers the probe (asked in no order, so it cannot be planned as a walk in id order); the page is
    # then read by primary key, never by walking the table in id order and testing each row's labels.
    with CaptureQueriesContext(connection) as queries:
        list(selectors.resources_for(member, label_selector="app=rare"))
    (probe,) = [query["sql"] for query in queries.captured_queries if "@>" in query["sql"] and "LIMIT" in query["sql"]]
    assert "ORDER BY" not in probe
    assert "resource_labels" in plan(probe)
    page = plan(sql)
    assert "control_plane_resource_pkey" in page
    assert "Index Cond: (id = ANY" in page


def test_a_label_selector_matching_many_rows_walks_the_ids_in_order(member, many):
    sql = page_sql(member, label_selector="tier=web")
    assert str(many[0]) not in sql  # no id list: the first page is found quickly in id order
    assert selectors.resources_for(member, label_selector="tier=web").count() == COMMON + 1


def test_selectors_that_the_index_cannot_answer_alone_are_not_resolved_by_it(member, many):
    for selector in ("app!=rare", "!app", "app notin (rare)", "app"):
        assert str(many[0]) not in page_sql(member, label_selector=selector), selector
    # Combined with an indexable requirement, the index answers that part, the rest filters it.
    assert (
        sorted(selectors.resources_for(member, label_selector="app in (rare),tier!=db").values_list("pk", flat=True))
        == many
    )


def test_the_visible_teams_are_values_in_the_query(member, payments):
    sql = page_sql(member)
    assert f'"team_id" IN ({payments.pk})' in sql or f'"team_id" = {payments.pk}' in sql
    assert "guardian" not in sql and "auth_user_groups" not in sql


def test_membership_and_grants_apply_on_the_very_next_request(payments, token_client):
    """Removed members and revoked grants lose access, new members gain it, each on the next request."""
    row = ResourceFactory(team=payments, namespace="payments")
    user = UserFactory(username="newcomer")
    client = token_client(user)

    def visible() -> list[int]:
        response = client.get("/api/v1/resources/")
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert visible() == []
    identity.membership_set(team=payments, user=user, role="viewer")
    assert visible() == [row.pk]
    identity.membership_remove(team=payments, user=user)
    assert visible() == []
    assign_perm("identity.view_team", user, payments)
    assert visible() == [row.pk]
    remove_perm("identity.view_team", user, payments)
    assert visible() == []
    user.groups.add(payments.group)  # group membership alone (as the admin would edit it) grants the team
    assert visible() == [row.pk]
    user.groups.remove(payments.group)
    assert visible() == []
