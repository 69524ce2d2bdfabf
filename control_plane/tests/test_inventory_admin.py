"""The inventory pages of the operator console: read-only, fast lists, a resource's tree and history, and the one
write, including or excluding a type from the sync, audited."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from control_plane import services
from control_plane.choices import ChangeTypeChoices, EdgeRelationChoices, HealthChoices
from control_plane.models import Resource, ResourceType
from control_plane.tests.factories import ClusterFactory
from control_plane.tests.inventory_factories import (
    CompositeFactory,
    ManagedResourceFactory,
    ResourceChangeFactory,
    ResourceEdgeFactory,
    ResourceFactory,
    ResourceTypeFactory,
    SyncRunFactory,
)
from control_plane.tree import rollup
from governance.models import AuditEvent
from identity.tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

ADMIN = "/admin/control_plane"


@pytest.fixture
def console(platform_admin) -> Client:
    client = Client()
    client.force_login(platform_admin)
    return client


@pytest.fixture
def stack(db) -> dict[str, Resource]:
    """A composite composing a degraded instance and a healthy subnet, rolled up, with two changes recorded."""
    cluster = ClusterFactory(name="prod")
    team = TeamFactory(name="payments")
    composite = CompositeFactory(
        cluster=cluster,
        name="orders-db-x7k2p",
        team=team,
        spec={"parameters": {"size": "<small>"}},
        labels={"app": "orders"},
    )
    instance = ManagedResourceFactory(
        cluster=cluster,
        name="orders-db-x7k2p-rds",
        health=HealthChoices.DEGRADED,
        health_reason="ReconcileError: bad instance class",
    )
    subnet = ManagedResourceFactory(cluster=cluster, name="orders-db-x7k2p-subnet")
    for child in (instance, subnet):
        ResourceEdgeFactory(source=composite, relation=EdgeRelationChoices.COMPOSES, target=child)
    rollup([composite.pk])
    ResourceChangeFactory(resource=composite, change_type=ChangeTypeChoices.ADDED, changed_paths=[])
    ResourceChangeFactory(
        resource=composite,
        changed_paths=["status"],
        condition_transitions=[{"type": "Ready", "status": "False", "reason": "Creating"}],
    )
    return {"composite": composite, "instance": instance, "subnet": subnet}


def rows_of(response) -> list[str]:
    """The names in the first column of a changelist."""
    return re.findall(r'<th class="field-__str__"><a href="[^"]+">([^<]+)</a>', response.content.decode())


# --- resources -------------------------------------------------------------------------------------------------------


def test_the_resource_page_shows_the_tree_the_history_and_readable_json(console, stack):
    composite = stack["composite"]

    response = console.get(f"{ADMIN}/resource/{composite.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    tree = page[page.index('<ul class="resource-tree">') :]
    assert tree.index("XDatabase orders-db-x7k2p") < tree.index("Instance orders-db-x7k2p-rds")
    assert f'href="/admin/control_plane/resource/{stack["instance"].pk}/change/"' in tree
    assert re.search(
        r"<strong><a [^>]+>Instance orders-db-x7k2p-rds \[degraded\] ReconcileError: bad instance class"
        r"</a> &larr; deepest failure</strong>",
        tree,
    )
    assert "<em>composes</em>" in tree
    assert "Creating" in page and "Ready=False" in page  # the condition transition in the history
    assert page.count("<td>#") == 2
    assert "&quot;size&quot;: &quot;&lt;small&gt;&quot;" in page  # pretty-printed and escaped
    assert 'name="_save"' not in page  # nothing to save: read-only


def test_resources_cannot_be_added_changed_or_deleted(console, stack):
    composite = stack["composite"]

    assert console.get(f"{ADMIN}/resource/add/").status_code == 403
    assert console.post(f"{ADMIN}/resource/{composite.pk}/change/", {"name": "x"}).status_code == 403
    assert console.post(f"{ADMIN}/resource/{composite.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Resource.objects.get(pk=composite.pk).name == "orders-db-x7k2p"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=Instance", ["Instance orders-db-x7k2p-subnet", "Instance orders-db-x7k2p-rds"]),
        ("health__exact=degraded", ["Instance orders-db-x7k2p-rds"]),
        ("q=subnet", ["Instance orders-db-x7k2p-subnet"]),
        ("state=deleted", ["ConfigMap default/gone"]),
        ("state=live&kind=ConfigMap", []),
    ],
)
def test_the_resource_list_filters_and_searches(console, stack, query, expected):
    ResourceFactory(
        cluster=stack["composite"].cluster, name="gone", deleted_at=timezone.now(), deleted_reason="deleted"
    )

    response = console.get(f"{ADMIN}/resource/?{query}")

    assert response.status_code == 200
    assert rows_of(response) == expected


def test_the_resource_list_filters_by_team_and_cluster(console, stack):
    composite = stack["composite"]

    by_team = console.get(f"{ADMIN}/resource/?team__id__exact={composite.team_id}")
    by_cluster = console.get(f"{ADMIN}/resource/?cluster__id__exact={composite.cluster_id}")

    assert rows_of(by_team) == ["XDatabase orders-db-x7k2p"]
    assert len(rows_of(by_cluster)) == 3


def test_the_resource_list_costs_the_same_queries_for_few_or_many_rows(console, stack):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert console.get(f"{ADMIN}/resource/").status_code == 200
        return len(queries)

    before = count()
    cluster, team = stack["composite"].cluster, stack["composite"].team
    for index in range(40):
        ResourceFactory(cluster=cluster, name=f"cm-{index}", team=team)

    assert count() == before


# --- types, changes, runs, clusters ----------------------------------------------------------------------------------


def test_the_read_only_lists_answer(console, stack):
    run = SyncRunFactory(cluster=stack["composite"].cluster, error="410 Gone: too old resource version")

    for path in ("resourcetype", "resourcechange", "syncrun", "resourcechange/?change_type__exact=added"):
        assert console.get(f"{ADMIN}/{path}/").status_code == 200, path
    runs = console.get(f"{ADMIN}/syncrun/?error=yes").content.decode()
    assert "410 Gone" in runs
    assert console.get(f"{ADMIN}/syncrun/{run.pk}/change/").status_code == 200
    assert console.get(f"{ADMIN}/syncrun/add/").status_code == 403
    assert console.get(f"{ADMIN}/resourcechange/add/").status_code == 403


def test_excluding_and_including_a_type_goes_through_the_audited_service(console):
    kind = ResourceTypeFactory(cluster=ClusterFactory(name="prod"), kind="ConfigMap", group="", cursor="4711")

    excluded = console.post(
        f"{ADMIN}/resourcetype/", {"action": "exclude_from_sync", "_selected_action": [kind.pk]}, follow=True
    )

    assert [str(m) for m in excluded.context["messages"]] == ["Excluded from sync: configmaps."]
    kind.refresh_from_db()
    assert (kind.watched, kind.cursor) == (False, "4711")
    event = AuditEvent.objects.get(action="resource_type.exclude")
    assert (event.face, event.actor_username, event.target_id) == ("admin", "root-admin", str(kind.pk))
    assert (event.before, event.after) == (
        {"watched": True},
        {"watched": False, "cluster": "prod", "type": "configmaps"},
    )

    console.post(f"{ADMIN}/resourcetype/", {"action": "include_in_sync", "_selected_action": [kind.pk]})

    kind.refresh_from_db()
    assert (kind.watched, kind.cursor) == (True, "")  # listed afresh: the old cursor would miss what changed
    assert AuditEvent.objects.filter(action="resource_type.include").count() == 1


def test_setting_watched_to_what_it_is_changes_and_audits_nothing(db):
    kind = ResourceTypeFactory(cursor="12")

    services.resource_type_set_watched(resource_type=kind, watched=True)

    assert ResourceType.objects.get(pk=kind.pk).cursor == "12"
    assert not AuditEvent.objects.filter(action__startswith="resource_type.").exists()


def test_a_type_page_is_read_only(console):
    kind = ResourceTypeFactory()

    page = console.get(f"{ADMIN}/resourcetype/{kind.pk}/change/")
    posted = console.post(f"{ADMIN}/resourcetype/{kind.pk}/change/", {"watched": ""})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert posted.status_code == 403
    assert ResourceType.objects.get(pk=kind.pk).watched is True


def test_the_cluster_list_shows_sync_health(console):
    now = timezone.now()
    prod = ClusterFactory(name="prod")
    ResourceTypeFactory(
        cluster=prod,
        kind="Deployment",
        object_count=40,
        last_list_at=now - datetime.timedelta(minutes=7),
        last_event_at=now - datetime.timedelta(seconds=5),
    )
    ResourceTypeFactory(
        cluster=prod,
        kind="ConfigMap",
        group="",
        object_count=2,
        last_list_at=now - datetime.timedelta(hours=3),
        last_error="403 Forbidden",
    )
    ResourceTypeFactory(cluster=prod, kind="Secret", group="", watched=False, object_count=1000)
    new = ClusterFactory(name="new")
    ResourceTypeFactory(cluster=new, kind="Deployment")

    response = console.get(f"{ADMIN}/cluster/")

    page = response.content.decode()
    prod_row = re.search(r"<tr>.*?>prod</a>.*?</tr>", page, re.S).group(0)
    cells = re.findall(r'<td class="field-(\w+)[^"]*">([^<]*)</td>', prod_row)
    assert ("synced_types", "2") in cells
    assert ("synced_objects", "42") in cells
    assert ("oldest_cursor", "3h") in cells
    assert ("newest_event", "5s ago") in cells
    assert ("types_with_errors", "1") in cells
    assert "never (1 types)" in re.search(r"<tr>.*?>new</a>.*?</tr>", page, re.S).group(0)
