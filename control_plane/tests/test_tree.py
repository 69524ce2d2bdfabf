"""The resource tree, its health rollup and the ancestors walk, on small trees built by hand in PostgreSQL."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from django.utils import timezone

from control_plane.choices import EdgeRelationChoices, HealthChoices
from control_plane.models import Resource
from control_plane.tests.factories import ClusterFactory
from control_plane.tests.inventory_factories import (
    ClaimFactory,
    CompositeFactory,
    ManagedResourceFactory,
    ResourceEdgeFactory,
    ResourceFactory,
    compose,
)
from control_plane.tree import TreeNode, ancestors, resource_tree, rollup
from identity.tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

COMPOSES, CLAIMS, OWNED_BY = EdgeRelationChoices.COMPOSES, EdgeRelationChoices.CLAIMS, EdgeRelationChoices.OWNED_BY
HEALTHY, DEGRADED = HealthChoices.HEALTHY, HealthChoices.DEGRADED
PROGRESSING, UNKNOWN = HealthChoices.PROGRESSING, HealthChoices.UNKNOWN


def claim(cluster, name="db", **fields) -> Resource:
    return ClaimFactory(cluster=cluster, namespace="team-a", name=name, **fields)


def composite(cluster, name="db-x7k2p", **fields) -> Resource:
    return CompositeFactory(cluster=cluster, name=name, **fields)


def managed(cluster, name, **fields) -> Resource:
    return ManagedResourceFactory(cluster=cluster, name=name, **fields)


@dataclass
class Stack:
    claim: Resource
    composite: Resource
    instance: Resource
    subnet: Resource


@pytest.fixture
def stack() -> Stack:
    """claim -> composite -> (instance degraded, subnet healthy), with the back references Crossplane keeps."""
    cluster = ClusterFactory(name="prod")
    built = Stack(
        claim=claim(cluster, health=PROGRESSING, health_reason="Waiting for the composite"),
        composite=composite(cluster, health=PROGRESSING, health_reason="Creating"),
        instance=managed(cluster, "db-x7k2p-rds", health=DEGRADED, health_reason="InvalidParameterValue: bad class"),
        subnet=managed(cluster, "db-x7k2p-subnet", health=HEALTHY),
    )
    ResourceEdgeFactory(source=built.claim, relation=CLAIMS, target=built.composite)
    ResourceEdgeFactory(source=built.composite, relation=EdgeRelationChoices.CLAIMED_BY, target=built.claim)
    compose(built.composite, built.instance)
    compose(built.composite, built.subnet)
    return built


def shape(node: TreeNode) -> list[tuple[int, str, str]]:
    return [(depth, n.resource.name, n.relation) for depth, n in node.walk()]


def reload(*resources: Resource) -> list[tuple[str, int | None, str]]:
    rows = {r.pk: r for r in Resource.objects.filter(pk__in=[r.pk for r in resources])}
    return [(rows[r.pk].tree_health, rows[r.pk].failing_id, rows[r.pk].failing_message) for r in resources]


# --- resource_tree ---------------------------------------------------------------------------------------------------


def test_tree_follows_claims_and_composes_and_lists_a_composed_and_owned_child_once(stack):
    tree = resource_tree(stack.claim)

    assert tree.resource is stack.claim
    assert shape(tree) == [
        (0, "db", ""),
        (1, "db-x7k2p", CLAIMS),
        (2, "db-x7k2p-rds", COMPOSES),
        (2, "db-x7k2p-subnet", COMPOSES),
    ]


def test_tree_of_owners_alone_follows_owner_uids(db):
    cluster = ClusterFactory()
    deployment = ResourceFactory(cluster=cluster, api_group="apps", kind="Deployment", name="web")
    replicaset = ResourceFactory(cluster=cluster, api_group="apps", kind="ReplicaSet", name="web-5d8")
    ResourceEdgeFactory(source=replicaset, relation=OWNED_BY, target=deployment)

    assert shape(resource_tree(deployment)) == [(0, "web", ""), (1, "web-5d8", OWNED_BY)]


def test_tree_costs_two_queries_whatever_its_size(stack, django_assert_num_queries):
    for index in range(25):
        compose(stack.composite, managed(stack.claim.cluster, f"extra-{index}"))

    with django_assert_num_queries(2):
        tree = resource_tree(stack.claim)
        names = [n.resource.name for _, n in tree.walk()]

    assert len(names) == 4 + 25


def test_tree_leaves_out_tombstones_and_finds_a_recreated_target_by_name(stack):
    old = stack.instance
    Resource.objects.filter(pk=old.pk).update(deleted_at=timezone.now(), deleted_reason="deleted")

    assert [n.resource.name for _, n in resource_tree(stack.composite).walk()] == ["db-x7k2p", "db-x7k2p-subnet"]

    again = managed(stack.claim.cluster, "db-x7k2p-rds")  # same name, new uid: the composite's ref finds it
    assert [n.resource.pk for _, n in resource_tree(stack.composite).walk()] == [
        stack.composite.pk,
        stack.subnet.pk,
        again.pk,
    ]


def test_owner_references_are_resolved_by_uid_not_by_name(db):
    cluster = ClusterFactory()
    first = ResourceFactory(cluster=cluster, api_group="apps", kind="Deployment", name="web")
    replicaset = ResourceFactory(cluster=cluster, api_group="apps", kind="ReplicaSet", name="web-5d8")
    ResourceEdgeFactory(source=replicaset, relation=OWNED_BY, target=first)
    Resource.objects.filter(pk=first.pk).update(deleted_at=timezone.now())
    second = ResourceFactory(cluster=cluster, api_group="apps", kind="Deployment", name="web")

    assert shape(resource_tree(second)) == [(0, "web", "")]


def test_references_resolve_within_the_cluster_and_group_only(db):
    prod, staging = ClusterFactory(name="prod"), ClusterFactory(name="staging")
    parent = composite(prod)
    managed(staging, "db-x7k2p-rds")  # the same reference, but in another cluster
    ResourceFactory(cluster=prod, api_group="other.io", kind="Instance", namespace="", name="db-x7k2p-rds")
    ResourceEdgeFactory(
        source=parent,
        relation=COMPOSES,
        target_group="rds.aws.upbound.io",
        target_kind="Instance",
        target_name="db-x7k2p-rds",
    )

    assert shape(resource_tree(parent)) == [(0, "db-x7k2p", "")]


def test_cycles_end_and_depth_is_limited(db):
    cluster = ClusterFactory()
    chain = [composite(cluster, name=f"level-{index}") for index in range(5)]
    for upper, lower in itertools.pairwise(chain):
        ResourceEdgeFactory(source=upper, relation=COMPOSES, target=lower)
    ResourceEdgeFactory(source=chain[-1], relation=COMPOSES, target=chain[0])  # back to the top

    assert [name for _, name, _ in shape(resource_tree(chain[0]))] == [f"level-{index}" for index in range(5)]
    assert [depth for depth, _, _ in shape(resource_tree(chain[0], max_depth=2))] == [0, 1, 2]
    assert rollup([r.pk for r in chain]) == 5
    assert ancestors([chain[0].pk]) == {r.pk for r in chain[1:]}


def test_a_resource_reached_twice_appears_once_at_its_shallowest_place(db):
    cluster = ClusterFactory()
    top, middle, shared = composite(cluster, "top"), composite(cluster, "middle"), managed(cluster, "shared")
    ResourceEdgeFactory(source=top, relation=COMPOSES, target=middle)
    ResourceEdgeFactory(source=middle, relation=COMPOSES, target=shared)
    ResourceEdgeFactory(source=top, relation=COMPOSES, target=shared)

    assert shape(resource_tree(top)) == [(0, "top", ""), (1, "middle", COMPOSES), (1, "shared", COMPOSES)]


def test_tree_can_be_limited_to_what_a_user_may_see(stack):
    team = TeamFactory(name="payments")
    Resource.objects.filter(pk__in=[stack.composite.pk, stack.instance.pk]).update(team=team)

    tree = resource_tree(stack.claim, visible=Resource.objects.filter(team=team))

    # The subnet is the team's composite's child, but not the team's: it is left out; the instance is kept.
    assert shape(tree) == [(0, "db", ""), (1, "db-x7k2p", CLAIMS), (2, "db-x7k2p-rds", COMPOSES)]
    hidden_middle = resource_tree(stack.claim, visible=Resource.objects.filter(pk=stack.instance.pk))
    assert shape(hidden_middle) == [(0, "db", "")]


# --- rollup ----------------------------------------------------------------------------------------------------------


def test_rollup_gives_the_worst_health_and_the_deepest_degraded_resource_with_its_message(stack):
    written = rollup([stack.claim.pk, stack.composite.pk])

    assert written == 2
    failing = (DEGRADED, stack.instance.pk, "InvalidParameterValue: bad class")
    assert reload(stack.claim, stack.composite) == [failing, failing]
    assert rollup([stack.claim.pk, stack.composite.pk]) == 0  # already right: nothing is written again


def test_rollup_follows_a_fix_and_points_at_the_deepest_progressing_resource(stack):
    rollup([stack.claim.pk, stack.composite.pk])
    Resource.objects.filter(pk=stack.instance.pk).update(health=PROGRESSING, health_reason="Creating the instance")

    assert rollup([stack.claim.pk, stack.composite.pk]) == 2
    waiting = (PROGRESSING, stack.instance.pk, "Creating the instance")
    assert reload(stack.claim, stack.composite) == [waiting, waiting]

    Resource.objects.filter(pk__in=[stack.claim.pk, stack.composite.pk, stack.instance.pk]).update(health=HEALTHY)
    assert rollup([stack.claim.pk, stack.composite.pk]) == 2
    assert reload(stack.claim, stack.composite) == [(HEALTHY, None, ""), (HEALTHY, None, "")]


def test_a_composite_failing_alone_is_its_own_failing_resource(stack):
    Resource.objects.filter(pk=stack.instance.pk).update(health=HEALTHY)
    Resource.objects.filter(pk=stack.composite.pk).update(health=DEGRADED, health_reason="ComposeResources: boom")

    rollup([stack.claim.pk, stack.composite.pk])

    assert reload(stack.claim) == [(DEGRADED, stack.composite.pk, "ComposeResources: boom")]


def test_the_deepest_of_several_failures_wins(stack):
    Resource.objects.filter(pk=stack.composite.pk).update(health=DEGRADED, health_reason="a child failed")

    rollup([stack.claim.pk])

    assert reload(stack.claim) == [(DEGRADED, stack.instance.pk, "InvalidParameterValue: bad class")]


@pytest.mark.parametrize(
    ("children", "expected"),
    [
        ((HEALTHY, HEALTHY), HEALTHY),
        ((HEALTHY, UNKNOWN), UNKNOWN),
        ((UNKNOWN, PROGRESSING), PROGRESSING),
        ((PROGRESSING, DEGRADED), DEGRADED),
    ],
)
def test_health_order_is_healthy_unknown_progressing_degraded(db, children, expected):
    cluster = ClusterFactory()
    parent = composite(cluster, health=HEALTHY)
    for index, health in enumerate(children):
        compose(parent, managed(cluster, f"child-{index}", health=health))

    rollup([parent.pk])

    assert reload(parent)[0][0] == expected


def test_rollup_of_a_leaf_is_none_and_a_stale_one_is_cleared_but_a_childless_composite_has_its_own(db):
    cluster = ClusterFactory()
    leaf = ResourceFactory(cluster=cluster, health=DEGRADED, tree_health=DEGRADED, failing_message="stale")
    lonely = composite(cluster, health=DEGRADED, health_reason="no composition")

    assert rollup([leaf.pk, lonely.pk]) == 2

    assert reload(leaf, lonely) == [("", None, ""), (DEGRADED, lonely.pk, "no composition")]


def test_rollup_leaves_tombstones_as_they_were(stack):
    Resource.objects.filter(pk=stack.composite.pk).update(deleted_at=timezone.now())

    assert rollup([stack.composite.pk]) == 0
    assert reload(stack.composite) == [("", None, "")]


def test_rollup_is_one_update_for_many_trees(db, django_assert_num_queries):
    cluster = ClusterFactory()
    parents = [composite(cluster, f"xr-{index}") for index in range(20)]
    for index, parent in enumerate(parents):
        compose(parent, managed(cluster, f"mr-{index}", health=DEGRADED if index % 2 else HEALTHY))

    with django_assert_num_queries(1):
        written = rollup([p.pk for p in parents])

    assert written == 20
    assert Resource.objects.filter(tree_health=DEGRADED).count() == 10


# --- ancestors -------------------------------------------------------------------------------------------------------


def test_ancestors_of_a_managed_resource_are_its_composite_and_claim(stack):
    assert ancestors([stack.instance.pk]) == {stack.composite.pk, stack.claim.pk}
    assert ancestors([stack.claim.pk]) == set()
    assert ancestors([stack.instance.pk, stack.composite.pk]) == {stack.composite.pk, stack.claim.pk}


def test_ancestors_start_from_tombstones_and_skip_dead_parents(stack):
    Resource.objects.filter(pk=stack.instance.pk).update(deleted_at=timezone.now())
    assert ancestors([stack.instance.pk]) == {stack.composite.pk, stack.claim.pk}

    Resource.objects.filter(pk=stack.claim.pk).update(deleted_at=timezone.now())
    assert ancestors([stack.instance.pk]) == {stack.composite.pk}


def test_ancestors_follow_owner_references_alone(db):
    cluster = ClusterFactory()
    deployment = ResourceFactory(cluster=cluster, api_group="apps", kind="Deployment", name="web")
    replicaset = ResourceFactory(cluster=cluster, api_group="apps", kind="ReplicaSet", name="web-5d8")
    ResourceEdgeFactory(source=replicaset, relation=OWNED_BY, target=deployment)

    assert ancestors([replicaset.pk]) == {deployment.pk}


def test_the_engines_call_rolls_up_everything_above_a_changed_resource(stack):
    rollup([stack.claim.pk, stack.composite.pk])
    Resource.objects.filter(pk=stack.instance.pk).update(health=HEALTHY, health_reason="")

    changed = {stack.instance.pk}
    written = rollup(changed | ancestors(changed))

    assert written == 2  # the claim and the composite; the managed resource itself has no tree
    assert reload(stack.claim, stack.composite, stack.instance) == [
        (PROGRESSING, stack.composite.pk, "Creating"),
        (PROGRESSING, stack.composite.pk, "Creating"),
        ("", None, ""),
    ]
