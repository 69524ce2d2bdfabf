"""Factories for the synced inventory: types, resources, edges, changes and sync runs, each validated before saving.

In production only the sync engine writes these rows (in bulk); tests build them directly to set up exactly the
state a read path must handle. `ResourceFactory` finds or creates the row's type from its cluster, group and kind,
and `ResourceEdgeFactory(source=a, relation=..., target=b)` fills the reference the way the engine records it.
"""

from __future__ import annotations

import datetime
import itertools
import uuid
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
from control_plane.models import Resource, ResourceChange, ResourceEdge, ResourceType, SyncRun
from control_plane.tests.factories import ClusterFactory

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
