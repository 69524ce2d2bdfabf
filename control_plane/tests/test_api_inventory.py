"""The inventory API: resources (list, detail, tree, history), as each kind of caller may see them, with every filter
and the 400s an agent gets for bad input."""

from __future__ import annotations

import datetime
from http import HTTPStatus
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from control_plane.choices import HealthChoices
from control_plane.models import Resource
from control_plane.selectors import HIDDEN_FAILURE_MESSAGE, explain_health, resource_by_id
from control_plane.tests.inventory_factories import (
    InventoryWorld,
    ResourceChangeFactory,
    ResourceFactory,
    inventory_world,
)
from control_plane.tree import rollup
from identity.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
ROLES = ("admin", "member", "outsider", "loner")


def assert_problem(response: Any, status: int, *, parameter: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem document; for a 400, one that names `parameter` in `errors` and in the detail."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["title"]) == (status, HTTPStatus(status).phrase)
    assert body["type"] == "https://devplat.dev/problems/" + body["code"].replace("_", "-")
    if parameter is not None:
        assert list(body["errors"]) == [parameter], body
        assert f"{parameter}: " in body["detail"]
    return body


@pytest.fixture
def world(team_with_members) -> InventoryWorld:
    return inventory_world(payments=team_with_members["team"], search=team_with_members["other_team"])


@pytest.fixture
def clients(platform_admin, team_with_members, token_client) -> dict[str, APIClient]:
    """Read tokens of a platform admin, a payments developer, a search developer, and a user in no team."""
    return {
        "admin": token_client(platform_admin),
        "member": token_client(team_with_members["developer"]),
        "outsider": token_client(team_with_members["outsider"]),
        "loner": token_client(UserFactory(username="loner")),
    }


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def visible_to(world: InventoryWorld, role: str, team_with_members: dict[str, Any]) -> set[int]:
    """Ids of the live resources of `world` each role may see: their team's; everything for the admin."""
    everything = {r.pk for r in vars(world).values() if isinstance(r, Resource)}
    teams = {"member": team_with_members["team"], "outsider": team_with_members["other_team"]}
    if role == "admin":
        return everything
    if role == "loner":
        return set()
    return {r.pk for r in world.owned_by(teams[role])}


def instance_failure(world: InventoryWorld) -> dict[str, Any]:
    """How the API names the world's deepest failure, the payments RDS instance, to a caller who may see it."""
    return {
        "id": world.instance.pk,
        "cluster": "prod",
        "api_version": "rds.aws.upbound.io/v1",
        "kind": "Instance",
        "namespace": "",
        "name": "orders-db-x7k2p-rds",
        "health": "degraded",
        "message": world.instance.health_reason,
    }


# --- permissions -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_list_holds_exactly_the_resources_the_caller_may_see(world, clients, team_with_members, role):
    expected = visible_to(world, role, team_with_members)

    assert ids(clients[role].get("/api/v1/resources/")) == expected
    if role == "admin":
        assert world.subnet.pk in expected and world.xrd.pk in expected  # unowned rows: admins only
    if role == "member":
        assert world.settings.pk not in expected and world.subnet.pk not in expected


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("suffix", ["", "tree/", "history/"])
def test_another_teams_or_an_unowned_resource_is_404_everywhere(world, clients, team_with_members, role, suffix):
    visible = visible_to(world, role, team_with_members)
    for resource in (world.settings, world.subnet, world.claim):
        response = clients[role].get(f"/api/v1/resources/{resource.pk}/{suffix}")
        if resource.pk in visible:
            assert response.status_code == 200, response.content
        else:
            body = assert_problem(response, 404)
            assert "or you may not see it" in body["detail"]


@pytest.mark.parametrize("suffix", ["", "tree/", "history/"])
def test_an_id_no_resource_can_have_is_404(world, clients, suffix):
    assert_problem(clients["admin"].get(f"/api/v1/resources/0/{suffix}"), 404)
    assert_problem(clients["admin"].get(f"/api/v1/resources/{2**70}/{suffix}"), 404)


def test_a_missing_id_reads_the_same_as_a_hidden_one(world, clients):
    hidden = clients["member"].get(f"/api/v1/resources/{world.settings.pk}/").json()
    missing = clients["member"].get("/api/v1/resources/999999/").json()

    assert hidden["detail"].replace(str(world.settings.pk), "N") == missing["detail"].replace("999999", "N")


def test_anonymous_callers_are_refused(world):
    assert_problem(APIClient().get("/api/v1/resources/"), 401)
    assert_problem(APIClient().get(f"/api/v1/resources/{world.claim.pk}/"), 401)


# --- list: summary and fields ----------------------------------------------------------------------------------------


def test_a_list_row_is_a_compact_summary_without_spec_or_status(world, clients):
    rows = clients["member"].get("/api/v1/resources/", {"name": "orders-db"}).json()["results"]

    assert rows == [
        {
            "id": world.claim.pk,
            "cluster": "prod",
            "api_version": "example.org/v1alpha1",
            "kind": "Database",
            "namespace": "payments",
            "name": "orders-db",
            "team": "payments",
            "health": "progressing",
            "health_reason": "Creating",
            "ready": False,
            "synced": True,
            "tree_health": "degraded",
            "failing_message": world.instance.health_reason,
            "resource_version": world.claim.resource_version,
            "last_seen_at": world.claim.last_seen_at.isoformat().replace("+00:00", "Z"),
        }
    ]


def test_fields_chooses_the_fields_of_each_row_in_the_order_given(world, clients):
    response = clients["admin"].get("/api/v1/resources/", {"fields": "name, labels,id", "kind": "Deployment"})

    rows = response.json()["results"]
    assert [list(row) for row in rows] == [["name", "labels", "id"]] * 3
    assert rows[0] == {"name": "web", "labels": {"app": "web", "tier": "frontend"}, "id": world.web.pk}


def test_an_unknown_field_is_a_400_listing_the_allowed_ones(world, clients):
    body = assert_problem(clients["member"].get("/api/v1/resources/", {"fields": "name,spec"}), 400, parameter="fields")

    assert "spec" in body["detail"]
    assert "choose among id, cluster, api_version" in body["detail"]
    assert "labels" in body["detail"]


def test_pages_follow_the_id_cursor_and_page_size_is_capped(world, clients, settings):
    pages, url, params = [], "/api/v1/resources/", {"page_size": 4}
    while url:
        body = clients["admin"].get(url, params).json()
        pages.append([row["id"] for row in body["results"]])
        url, params = body["next"], None

    assert [len(page) for page in pages] == [4, 4, 1]
    assert [pk for page in pages for pk in page] == sorted(
        r.pk for r in vars(world).values() if isinstance(r, Resource)
    )
    settings.DEVPLAT_MAX_PAGE_SIZE = 2
    huge = clients["admin"].get("/api/v1/resources/", {"page_size": 1000})
    assert len(huge.json()["results"]) == 2


# --- list: filters ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"cluster": "staging"}, {"web_staging"}),
        ({"kind": "Deployment"}, {"web", "api", "web_staging"}),
        ({"kind": "deployments"}, {"web", "api", "web_staging"}),
        ({"kind": "deployments.apps", "cluster": "prod"}, {"web", "api"}),
        ({"kind": "xdatabase.example.org"}, {"composite"}),
        ({"group": "rds.aws.upbound.io"}, {"instance", "subnet"}),
        ({"group": "core"}, {"settings"}),
        ({"namespace": "search"}, {"settings"}),
        ({"namespace": ""}, {"composite", "instance", "subnet", "xrd"}),
        ({"name": "web"}, {"web", "web_staging"}),
        ({"team": "search"}, {"settings"}),
        ({"health": "degraded"}, {"api", "instance"}),
        ({"ready": "true"}, {"web", "web_staging", "subnet", "xrd"}),
        ({"ready": "false", "kind": "Deployment"}, {"api"}),
        ({"label_selector": "app=web"}, {"web", "web_staging"}),
        ({"label_selector": "app==web,tier=frontend"}, {"web"}),
        ({"label_selector": "app in (api,web),tier!=frontend"}, {"api", "web_staging"}),
        ({"label_selector": "app notin (web)", "kind": "Deployment"}, {"api"}),
        ({"label_selector": "tier"}, {"web", "api"}),
        ({"label_selector": "!tier", "kind": "Deployment"}, {"web_staging"}),
        ({"q": "ORDERS rds"}, {"instance"}),
        ({"q": "x7k2p"}, {"composite", "instance", "subnet"}),
        ({"cluster": "prod", "namespace": "payments", "kind": "Deployment", "health": "healthy"}, {"web"}),
    ],
)
def test_filters(world, clients, params, expected):
    names = {name for name, value in vars(world).items() if isinstance(value, Resource)}
    by_id = {getattr(world, name).pk: name for name in names}

    found = ids(clients["admin"].get("/api/v1/resources/", params))

    assert {by_id[pk] for pk in found} == expected


def test_changed_since_finds_resources_with_a_recent_change_feed_entry(world, clients):
    now = timezone.now()
    ResourceChangeFactory(resource=world.api, time=now - datetime.timedelta(minutes=5))
    ResourceChangeFactory(resource=world.web, time=now - datetime.timedelta(hours=3))
    ResourceChangeFactory(resource=world.settings, time=now - datetime.timedelta(minutes=1))

    recent = ids(clients["member"].get("/api/v1/resources/", {"changed_since": "30m"}))
    since = (now - datetime.timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    older = ids(clients["member"].get("/api/v1/resources/", {"changed_since": since}))

    assert recent == {world.api.pk}  # the search team's change is not the member's to see
    assert older == {world.api.pk, world.web.pk}


def test_a_team_filter_on_a_team_the_caller_cannot_see_is_refused_like_a_missing_one(world, clients):
    other = assert_problem(clients["member"].get("/api/v1/resources/", {"team": "search"}), 400, parameter="team")
    missing = assert_problem(clients["member"].get("/api/v1/resources/", {"team": "nope"}), 400, parameter="team")

    assert "Your teams: payments" in other["detail"]
    assert other["detail"].replace("search", "X") == missing["detail"].replace("nope", "X")


@pytest.mark.parametrize(
    ("parameter", "value", "says"),
    [
        ("kind", "Gadget", "Known kinds: CompositeResourceDefinition, ConfigMap, Database, Deployment"),
        ("label_selector", "app in (web", "expected ',' or ')'"),
        ("label_selector", "replicas>2", "numeric comparison"),
        ("health", "sick", "use one of healthy, progressing, degraded, unknown"),
        ("health", "", "use one of healthy, progressing, degraded, unknown"),
        ("ready", "maybe", "use true or false"),
        ("ready", "", "use true or false"),
        ("changed_since", "yesterday", "ISO 8601"),
        ("cluster", "nowhere", "Known clusters: prod, staging"),
        ("group", "nope.example.org", "Known groups:"),
        ("q", " ".join(["w"] * 9), "at most 8 words"),
    ],
)
def test_bad_filter_values_are_a_400_naming_the_parameter_and_what_to_do(world, clients, parameter, value, says):
    body = assert_problem(clients["member"].get("/api/v1/resources/", {parameter: value}), 400, parameter=parameter)

    assert says in body["detail"]


# --- detail ----------------------------------------------------------------------------------------------------------


def test_the_detail_is_the_stored_object_with_its_references_and_failure(world, clients):
    body = clients["member"].get(f"/api/v1/resources/{world.claim.pk}/").json()

    assert body["spec"] == {"parameters": {"size": "small"}}
    creating = {"type": "Ready", "status": "False", "reason": "Creating", "message": "waiting for the composite"}
    assert body["status"] == {"conditions": [creating]}
    assert body["conditions"] == world.claim.conditions
    assert (body["uid"], body["type"], body["category"]) == (world.claim.uid, "databases.example.org", "claim")
    assert body["references"] == [
        {
            "relation": "claims",
            "id": world.composite.pk,
            "api_group": "example.org",
            "kind": "XDatabase",
            "namespace": "",
            "name": "orders-db-x7k2p",
        }
    ]
    assert body["failing"] == instance_failure(world)


def test_references_name_only_resources_the_caller_may_see(world, clients):
    url = f"/api/v1/resources/{world.composite.pk}/"
    mine = clients["member"].get(url).json()["references"]
    admins = clients["admin"].get(url).json()["references"]
    owned = clients["member"].get(f"/api/v1/resources/{world.instance.pk}/").json()["references"]

    assert [(ref["relation"], ref["id"]) for ref in mine] == [("composes", world.instance.pk)]
    assert sorted((ref["relation"], ref["id"]) for ref in admins) == [
        ("composes", world.instance.pk),
        ("composes", world.subnet.pk),
    ]
    assert [(ref["relation"], ref["id"], ref["name"]) for ref in owned] == [
        ("owned-by", world.composite.pk, "orders-db-x7k2p")
    ]


@pytest.fixture
def unowned_failure(world) -> InventoryWorld:
    """The unowned subnet is now what fails in the payments database's tree; the payments instance is healthy."""
    Resource.objects.filter(pk=world.subnet.pk).update(health=HealthChoices.DEGRADED, health_reason="SubnetGone")
    Resource.objects.filter(pk=world.instance.pk).update(health=HealthChoices.HEALTHY, health_reason="")
    rollup([world.claim.pk, world.composite.pk])
    return world


def test_a_failure_the_caller_may_not_see_is_not_named(unowned_failure, clients):
    world = unowned_failure
    mine = clients["member"].get(f"/api/v1/resources/{world.claim.pk}/").json()
    admins = clients["admin"].get(f"/api/v1/resources/{world.claim.pk}/").json()

    assert (mine["tree_health"], mine["failing"]) == ("degraded", None)
    assert mine["failing_message"] == HIDDEN_FAILURE_MESSAGE
    assert "SubnetGone" not in str(mine) and world.subnet.name not in str(mine)
    assert (admins["failing"]["id"], admins["failing_message"]) == (world.subnet.pk, "SubnetGone")


def test_a_list_row_does_not_carry_the_message_of_a_hidden_failure(unowned_failure, clients):
    world = unowned_failure
    params = {"namespace": "payments", "kind": "Database"}

    (mine,) = clients["member"].get("/api/v1/resources/", params).json()["results"]
    (admins,) = clients["admin"].get("/api/v1/resources/", params).json()["results"]

    assert (mine["id"], mine["failing_message"]) == (world.claim.pk, HIDDEN_FAILURE_MESSAGE)
    assert admins["failing_message"] == "SubnetGone"


def test_a_deleted_resource_stays_readable_by_id_but_leaves_the_list(world, clients):
    Resource.objects.filter(pk=world.api.pk).update(deleted_at=timezone.now(), deleted_reason="deleted")

    body = clients["member"].get(f"/api/v1/resources/{world.api.pk}/").json()

    assert (body["deleted_reason"], body["deleted_at"] is not None) == ("deleted", True)
    assert world.api.pk not in ids(clients["member"].get("/api/v1/resources/"))


# --- tree ------------------------------------------------------------------------------------------------------------


def shape(node: dict[str, Any]) -> tuple[Any, ...]:
    """A tree as (kind, relation, health, deepest_failure, children)."""
    return (
        node["kind"],
        node["relation"],
        node["health"],
        node["deepest_failure"],
        [shape(child) for child in node["children"]],
    )


def test_the_tree_goes_claim_composite_managed_and_names_the_deepest_failure(world, clients):
    body = clients["admin"].get(f"/api/v1/resources/{world.claim.pk}/tree/").json()

    assert shape(body["tree"]) == (
        "Database",
        "",
        "progressing",
        False,
        [
            (
                "XDatabase",
                "claims",
                "progressing",
                False,
                [("Instance", "composes", "degraded", True, []), ("Instance", "composes", "healthy", False, [])],
            )
        ],
    )
    assert (body["tree_health"], body["node_count"]) == ("degraded", 4)
    assert body["failing"]["id"] == world.instance.pk
    assert body["failing"]["message"] == "ReconcileError: InvalidParameterValue: db.x1 is not a DB instance class"
    assert body["failing"]["conditions"] == world.instance.conditions


def test_the_tree_leaves_out_members_the_caller_may_not_see(world, clients):
    body = clients["member"].get(f"/api/v1/resources/{world.claim.pk}/tree/").json()

    composite = body["tree"]["children"][0]
    assert [child["id"] for child in composite["children"]] == [world.instance.pk]
    assert body["node_count"] == 3


def test_a_tree_says_its_failure_is_hidden_instead_of_naming_it(unowned_failure, clients):
    world = unowned_failure
    mine = clients["member"].get(f"/api/v1/resources/{world.claim.pk}/tree/").json()
    admins = clients["admin"].get(f"/api/v1/resources/{world.claim.pk}/tree/").json()

    assert (admins["tree_health"], admins["failing"]["id"], admins["failure_hidden"]) == (
        "degraded",
        world.subnet.pk,
        False,
    )
    assert (mine["tree_health"], mine["failing"], mine["failure_hidden"]) == ("degraded", None, True)
    assert "SubnetGone" not in str(mine) and world.subnet.name not in str(mine)


def test_a_tree_never_rolled_up_takes_its_health_from_the_members_shown(world, clients):
    Resource.objects.filter(pk=world.composite.pk).update(tree_health="", failing=None, failing_message="")

    body = clients["member"].get(f"/api/v1/resources/{world.composite.pk}/tree/").json()

    assert (body["tree_health"], body["failing"]["id"], body["failure_hidden"]) == (
        "degraded",
        world.instance.pk,
        False,
    )


# --- history ---------------------------------------------------------------------------------------------------------


def test_history_lists_the_resources_changes_newest_first_with_condition_transitions(world, clients):
    transition = {"type": "Ready", "from": "True", "to": "False", "reason": "Creating", "message": "waiting"}
    older = ResourceChangeFactory(resource=world.claim, change_type="added", changed_paths=[])
    newer = ResourceChangeFactory(
        resource=world.claim, changed_paths=["spec", "status"], condition_transitions=[transition]
    )
    ResourceChangeFactory(resource=world.web)  # another resource's change

    body = clients["member"].get(f"/api/v1/resources/{world.claim.pk}/history/").json()

    assert body["resource"]["id"] == world.claim.pk
    assert [entry["id"] for entry in body["results"]] == [newer.pk, older.pk]
    assert body["results"][0]["changed_paths"] == ["spec", "status"]
    assert body["results"][0]["condition_transitions"] == [transition]
    limited = clients["member"].get(f"/api/v1/resources/{world.claim.pk}/history/", {"limit": 1}).json()
    assert [entry["id"] for entry in limited["results"]] == [newer.pk]


@pytest.mark.parametrize("limit", ["0", "501", "ten", ""])
def test_a_bad_history_limit_is_a_400(world, clients, limit):
    response = clients["member"].get(f"/api/v1/resources/{world.claim.pk}/history/", {"limit": limit})

    assert_problem(response, 400, parameter="limit")


# --- the selectors the MCP server shares -----------------------------------------------------------------------------


def test_explain_health_gives_the_deepest_failure_its_conditions_and_recent_changes(world, team_with_members):
    member = team_with_members["developer"]
    ResourceChangeFactory(resource=world.instance, changed_paths=["status"])
    own = ResourceChangeFactory(resource=world.claim)

    answer = explain_health(member, resource_by_id(member, world.claim.pk))

    assert (answer["health"], answer["tree_health"], answer["ready"]) == ("progressing", "degraded", False)
    assert answer["conditions"] == world.claim.conditions
    assert answer["failing"]["resource"]["id"] == world.instance.pk
    assert answer["failing"]["message"] == world.instance.health_reason
    assert answer["failing"]["conditions"] == world.instance.conditions
    assert [c.resource_id for c in answer["failing"]["recent_changes"]] == [world.instance.pk]
    assert answer["recent_changes"] == [own]


def test_explain_health_does_not_name_a_failure_the_caller_may_not_see(unowned_failure, team_with_members):
    world, member = unowned_failure, team_with_members["developer"]

    answer = explain_health(member, resource_by_id(member, world.claim.pk))

    assert (answer["tree_health"], answer["failing"], answer["failure_hidden"]) == ("degraded", None, True)
    assert answer["failing_message"] == HIDDEN_FAILURE_MESSAGE


def test_explain_health_of_a_healthy_resource_has_no_failure(world, team_with_members):
    member = team_with_members["developer"]

    answer = explain_health(member, resource_by_id(member, world.web.pk))

    assert (answer["health"], answer["failing"], answer["failure_hidden"]) == ("healthy", None, False)
    assert answer["recent_changes"] == []


def test_a_resource_made_after_the_world_shows_up_for_its_team_only(world, clients, team_with_members):
    extra = ResourceFactory(cluster=world.prod, namespace="payments", name="late", team=team_with_members["team"])

    assert extra.pk in ids(clients["member"].get("/api/v1/resources/"))
    assert extra.pk not in ids(clients["outsider"].get("/api/v1/resources/"))
