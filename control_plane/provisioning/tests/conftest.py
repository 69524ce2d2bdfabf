"""The provisioning tests' world: the demo cluster (sandbox with the platform package and the demo seed) registered
and synced into devplat, two teams with a namespace each, and their people."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from control_plane.models import Cluster
from control_plane.sandbox.runner import Sandbox
from control_plane.sandbox.seed import load_demo
from control_plane.sync.engine import sync_window
from control_plane.tests.factories import ClusterFactory
from governance.tests.policy_support import only_default_policies
from identity import services as identity
from identity.choices import MembershipRoleChoices
from identity.models import Team
from identity.tests.factories import MembershipFactory, TeamFactory, UserFactory


@dataclass
class Platform:
    sandbox: Sandbox
    cluster: Cluster
    checkout: Team
    payments: Team
    alice: Any  # developer of checkout
    vera: Any  # viewer of checkout
    pete: Any  # developer of payments
    admin: Any  # platform admin

    def live(self, plural: str, namespace: str, name: str, group: str = "platform.devplat.io") -> dict[str, Any]:
        """The object as the cluster has it now (KeyError-free: raises the sandbox's 404 when absent)."""
        api = self.sandbox.api
        version = "v1" if group == "" else "v1alpha1"
        return api.get(api.kind(group, version, plural), namespace, name)

    def exists(self, plural: str, namespace: str, name: str) -> bool:
        from control_plane.kubeapi.errors import ApiError

        try:
            self.live(plural, namespace, name)
        except ApiError:
            return False
        return True


@pytest.fixture
def platform(transactional_db: None) -> Iterator[Platform]:
    only_default_policies()  # the shipped ones: an earlier transactional test may have flushed them
    with Sandbox(bookmark_interval=0.2) as sandbox:
        load_demo(sandbox.api)
        cluster = ClusterFactory(name="sandbox", server=sandbox.url)
        sync_window(cluster, seconds=10, once=True)
        checkout, payments = TeamFactory(name="checkout"), TeamFactory(name="payments")
        identity.namespace_assign(team=checkout, namespace="team-checkout")
        identity.namespace_assign(team=payments, namespace="team-payments")
        alice, vera, pete = UserFactory(username="alice"), UserFactory(username="vera"), UserFactory(username="pete")
        MembershipFactory(team=checkout, user=alice, role=MembershipRoleChoices.DEVELOPER)
        MembershipFactory(team=checkout, user=vera, role=MembershipRoleChoices.VIEWER)
        MembershipFactory(team=payments, user=pete, role=MembershipRoleChoices.DEVELOPER)
        admin = UserFactory(username="root", platform_admin=True)
        yield Platform(sandbox, cluster, checkout, payments, alice, vera, pete, admin)


def mark_ready(
    platform: Platform, plural: str, namespace: str, name: str, *, secret: str = "", generation: int = 1
) -> None:
    """Do what Crossplane would: set the composite Ready for `generation` and, when given, write its connection
    secret."""
    from control_plane.sandbox.apiserver import WriteOptions

    api = platform.sandbox.api
    since = "2026-11-26T09:00:00Z"
    conditions = [
        {"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": since},
        {
            "type": "Ready",
            "status": "True",
            "reason": "Available",
            "lastTransitionTime": since,
            "observedGeneration": generation,
        },
    ]
    api.patch(
        api.kind("platform.devplat.io", "v1alpha1", plural),
        namespace,
        name,
        {"status": {"conditions": conditions}},
        "application/merge-patch+json",
        WriteOptions(field_manager="crossplane"),
        subresource="status",
    )
    if secret:
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": secret, "namespace": namespace}}
        api.create(api.kind("", "v1", "secrets"), namespace, body, WriteOptions(field_manager="crossplane"))


def apply_as(platform: Platform, manager: str, name: str, spec: dict[str, Any]) -> None:
    """Someone else (GitOps, a person with kubectl) server-side applies a Database in team-checkout first."""
    from control_plane.sandbox.apiserver import WriteOptions

    api = platform.sandbox.api
    body = {
        "apiVersion": "platform.devplat.io/v1alpha1",
        "kind": "Database",
        "metadata": {"name": name, "namespace": "team-checkout"},
        "spec": spec,
    }
    kind = api.kind("platform.devplat.io", "v1alpha1", "databases")
    api.patch(kind, "team-checkout", name, body, "application/apply-patch+yaml", WriteOptions(field_manager=manager))
