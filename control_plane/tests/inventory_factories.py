"""Factories for the synced inventory: types, resources, edges, changes and sync runs, each validated before saving.

In production only the sync engine writes these rows (in bulk); tests build them directly to set up exactly the
state a read path must handle. `ResourceFactory` finds or creates the row's type from its cluster, group and kind,
and `ResourceEdgeFactory(source=a, relation=..., target=b)` fills the reference the way the engine records it.
`ClaimFactory`, `CompositeFactory`, `ManagedResourceFactory` and `XrdFactory` preset the Crossplane kinds, and
`compose` links a composite to its children. `inventory_world` is the one story the API, CLI and MCP tests share.
"""

from __future__ import annotations

import datetime
import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import factory
from django.db import models
from django.utils import timezone

from control_plane.choices import (
    ChangeTypeChoices,
    EdgeRelationChoices,
    HealthChoices,
    ResourceCategoryChoices,
    SyncModeChoices,
)
from control_plane.models import Cluster, Resource, ResourceChange, ResourceEdge, ResourceType, SyncRun
from control_plane.tests.factories import ClusterFactory
from identity.models import Team

_versions = itertools.count(1000)


class ValidatedFactory(factory.django.DjangoModelFactory):
    """Runs `full_clean()` before saving. An empty JSON object or list is a valid value, though Django's blank check
    on a `JSONField(default=dict)` would call it missing, so those fields are not checked for blankness."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: type[models.Model], *args: Any, **kwargs: Any) -> Any:
        obj = model_class(*args, **kwargs)
        empty_json = [
            f.name
            for f in model_class._meta.fields
            if isinstance(f, models.JSONField) and f.value_from_object(obj) in ({}, [])
        ]
        obj.full_clean(exclude=empty_json)
        obj.save(force_insert=True)
        return obj


class ResourceTypeFactory(ValidatedFactory):
    """A type of a cluster; an existing (cluster, group, plural) is returned as it is."""

    class Meta:
        model = ResourceType

    cluster = factory.SubFactory(ClusterFactory)
    group = "apps"
    version = "v1"
    kind = "Deployment"
    plural = factory.LazyAttribute(lambda t: t.kind.lower() + ("es" if t.kind.endswith("s") else "s"))
    namespaced = True
    category = ResourceCategoryChoices.CORE

    @classmethod
    def _create(cls, model_class: type[models.Model], *args: Any, **kwargs: Any) -> Any:
        found = ResourceType.objects.filter(
            cluster=kwargs["cluster"], group=kwargs["group"], plural=kwargs["plural"]
        ).first()
        return found or super()._create(model_class, *args, **kwargs)


class ResourceFactory(ValidatedFactory):
    """A live resource as the sync would store it. Pass `category` for a Crossplane kind's type, `namespace=""`
    for a cluster-scoped one; its type is found or created to match."""

    class Meta:
        model = Resource

    class Params:
        category = ResourceCategoryChoices.CORE
        version = "v1"

    cluster = factory.SubFactory(ClusterFactory)
    api_group = ""
    kind = "ConfigMap"
    namespace = "default"
    name = factory.Sequence(lambda n: f"object-{n}")
    resource_type = factory.SubFactory(
        ResourceTypeFactory,
        cluster=factory.SelfAttribute("..cluster"),
        group=factory.SelfAttribute("..api_group"),
        version=factory.SelfAttribute("..version"),
        kind=factory.SelfAttribute("..kind"),
        namespaced=factory.LazyAttribute(lambda t: bool(t.factory_parent.namespace)),
        category=factory.SelfAttribute("..category"),
    )
    api_version = factory.LazyAttribute(lambda r: f"{r.api_group}/{r.version}" if r.api_group else r.version)
    uid = factory.LazyFunction(lambda: str(uuid.uuid4()))
    resource_version = factory.LazyFunction(lambda: str(next(_versions)))
    health = HealthChoices.HEALTHY
    content_hash = factory.LazyFunction(lambda: uuid.uuid4().hex)
    created_at_k8s = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(hours=1))
    first_seen_at = factory.LazyFunction(timezone.now)
    last_seen_at = factory.LazyFunction(timezone.now)


class ClaimFactory(ResourceFactory):
    """A Crossplane claim (a namespaced Database of example.org) as the sync stores it."""

    class Params:
        category = ResourceCategoryChoices.CLAIM
        version = "v1alpha1"

    api_group = "example.org"
    kind = "Database"


class CompositeFactory(ResourceFactory):
    """A Crossplane composite resource (a cluster-scoped XDatabase of example.org)."""

    class Params:
        category = ResourceCategoryChoices.COMPOSITE
        version = "v1alpha1"

    api_group = "example.org"
    kind = "XDatabase"
    namespace = ""


class ManagedResourceFactory(ResourceFactory):
    """A Crossplane managed resource (a cluster-scoped RDS Instance unless told otherwise)."""

    class Params:
        category = ResourceCategoryChoices.MANAGED

    api_group = "rds.aws.upbound.io"
    kind = "Instance"
    namespace = ""


XRD_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "parameters": {
                    "type": "object",
                    "properties": {"size": {"type": "string", "enum": ["small", "large"]}},
                    "required": ["size"],
                }
            },
        }
    },
}


def xrd_spec() -> dict[str, Any]:
    """The spec of the XDatabase XRD: claimed as a Database, with an old version that is not referenceable and the
    referenceable v1alpha1 whose parameter schema is XRD_SCHEMA."""
    return {
        "group": "example.org",
        "names": {"kind": "XDatabase", "plural": "xdatabases"},
        "claimNames": {"kind": "Database", "plural": "databases"},
        "scope": "Cluster",
        "versions": [
            {"name": "v1alpha0", "served": True, "referenceable": False, "schema": {"openAPIV3Schema": {}}},
            {"name": "v1alpha1", "served": True, "referenceable": True, "schema": {"openAPIV3Schema": XRD_SCHEMA}},
        ],
    }


class XrdFactory(ResourceFactory):
    """A Crossplane CompositeResourceDefinition: cluster-scoped, owned by no team, the XDatabase one by default."""

    class Params:
        category = ResourceCategoryChoices.CROSSPLANE
        version = "v2"

    api_group = "apiextensions.crossplane.io"
    kind = "CompositeResourceDefinition"
    namespace = ""
    name = "xdatabases.example.org"
    ready = True
    spec = factory.LazyFunction(xrd_spec)


class ResourceEdgeFactory(ValidatedFactory):
    """`source` refers to `target` (a Resource) by `relation`: by uid for owned-by, by group/kind/namespace/name
    otherwise. Give the target_* fields instead of `target` for a reference to something not synced."""

    class Meta:
        model = ResourceEdge

    class Params:
        target = None

    source = factory.SubFactory(ResourceFactory)
    cluster = factory.SelfAttribute("source.cluster")
    relation = EdgeRelationChoices.COMPOSES
    target_uid = factory.LazyAttribute(
        lambda e: e.target.uid if e.target is not None and e.relation == EdgeRelationChoices.OWNED_BY else ""
    )
    target_group = factory.LazyAttribute(lambda e: e.target.api_group if e.target is not None else "")
    target_kind = factory.LazyAttribute(lambda e: e.target.kind if e.target is not None else "ConfigMap")
    target_namespace = factory.LazyAttribute(lambda e: e.target.namespace if e.target is not None else "")
    target_name = factory.LazyAttribute(lambda e: e.target.name if e.target is not None else "missing")


def compose(composite: Resource, *children: Resource) -> None:
    """As Crossplane records it: the composite lists each child in its resourceRefs, and each child is owned by
    the composite."""
    for child in children:
        ResourceEdgeFactory(source=composite, relation=EdgeRelationChoices.COMPOSES, target=child)
        ResourceEdgeFactory(source=child, relation=EdgeRelationChoices.OWNED_BY, target=composite)


class ResourceChangeFactory(ValidatedFactory):
    class Meta:
        model = ResourceChange

    resource = factory.SubFactory(ResourceFactory)
    cluster = factory.SelfAttribute("resource.cluster")
    team = factory.SelfAttribute("resource.team")
    change_type = ChangeTypeChoices.MODIFIED
    resource_version = factory.SelfAttribute("resource.resource_version")
    changed_paths = factory.LazyFunction(lambda: ["status"])
    time = factory.LazyFunction(timezone.now)


class SyncRunFactory(ValidatedFactory):
    class Meta:
        model = SyncRun

    cluster = factory.SubFactory(ClusterFactory)
    resource_type = factory.SubFactory(ResourceTypeFactory, cluster=factory.SelfAttribute("..cluster"))
    mode = SyncModeChoices.LIST
    started_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(seconds=3))
    finished_at = factory.LazyFunction(timezone.now)
    added = 3


@dataclass
class InventoryWorld:
    """What `inventory_world` built, by role in the story."""

    prod: Cluster
    staging: Cluster
    web: Resource  # payments' healthy Deployment in prod
    api: Resource  # payments' degraded Deployment in prod
    web_staging: Resource  # payments' Deployment in staging
    settings: Resource  # the search team's ConfigMap in prod
    claim: Resource  # payments' Database claim -> composite -> (instance, subnet)
    composite: Resource
    instance: Resource  # payments' degraded RDS instance: the deepest failure
    subnet: Resource  # an unowned managed resource in the same tree (platform admins only)
    xrd: Resource  # the XDatabase XRD, cluster-scoped and unowned

    def owned_by(self, team: Team | None) -> list[Resource]:
        return [r for r in vars(self).values() if isinstance(r, Resource) and r.team_id == (team.pk if team else None)]


def inventory_world(*, payments: Team, search: Team) -> InventoryWorld:
    """Two clusters: payments' Deployments and a Crossplane database stack (claim -> composite -> an RDS instance
    that fails and an unowned subnet), one ConfigMap of the search team, and the XRD that offers the database.
    The composite and claim are rolled up, so `failing` names the instance."""
    from control_plane.tree import rollup

    prod, staging = ClusterFactory(name="prod"), ClusterFactory(name="staging")
    deployment = {"api_group": "apps", "kind": "Deployment", "namespace": "payments", "team": payments}
    web = ResourceFactory(cluster=prod, name="web", labels={"app": "web", "tier": "frontend"}, ready=True, **deployment)
    api = ResourceFactory(
        cluster=prod,
        name="api",
        labels={"app": "api", "tier": "backend"},
        health=HealthChoices.DEGRADED,
        health_reason="ProgressDeadlineExceeded: 0/3 replicas available",
        ready=False,
        spec={"replicas": 3},
        **deployment,
    )
    web_staging = ResourceFactory(cluster=staging, name="web", labels={"app": "web"}, ready=True, **deployment)
    settings = ResourceFactory(cluster=prod, kind="ConfigMap", namespace="search", name="settings", team=search)
    claim_conditions = [
        {"type": "Ready", "status": "False", "reason": "Creating", "message": "waiting for the composite"}
    ]
    claim = ClaimFactory(
        cluster=prod,
        namespace="payments",
        name="orders-db",
        team=payments,
        health=HealthChoices.PROGRESSING,
        health_reason="Creating",
        ready=False,
        synced=True,
        spec={"parameters": {"size": "small"}},
        status={"conditions": claim_conditions},
        conditions=claim_conditions,
    )
    composite = CompositeFactory(
        cluster=prod, name="orders-db-x7k2p", team=payments, health=HealthChoices.PROGRESSING, ready=False, synced=True
    )
    instance = ManagedResourceFactory(
        cluster=prod,
        name="orders-db-x7k2p-rds",
        team=payments,
        health=HealthChoices.DEGRADED,
        health_reason="ReconcileError: InvalidParameterValue: db.x1 is not a DB instance class",
        ready=False,
        synced=False,
        conditions=[
            {"type": "Synced", "status": "False", "reason": "ReconcileError", "message": "InvalidParameterValue"},
        ],
    )
    subnet = ManagedResourceFactory(cluster=prod, name="orders-db-x7k2p-subnet", ready=True, synced=True)
    ResourceEdgeFactory(source=claim, relation=EdgeRelationChoices.CLAIMS, target=composite)
    compose(composite, instance, subnet)
    xrd = XrdFactory(cluster=prod)
    rollup([claim.pk, composite.pk])
    for resource in (claim, composite):
        resource.refresh_from_db()
    return InventoryWorld(prod, staging, web, api, web_staging, settings, claim, composite, instance, subnet, xrd)


def add_deployments(world: InventoryWorld, count: int) -> None:
    """`count` more payments Deployments in prod, every other one degraded: a longer page of the same rows."""
    for n in range(count):
        ResourceFactory(
            cluster=world.prod,
            api_group="apps",
            kind="Deployment",
            namespace="payments",
            name=f"svc-{n}",
            labels={"app": "web", "n": str(n)},
            team=world.web.team,
            health=HealthChoices.DEGRADED if n % 2 else HealthChoices.HEALTHY,
        )
