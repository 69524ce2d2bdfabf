"""`clusters test` end to end: the real client probing the sandbox API server over HTTP on loopback."""

from __future__ import annotations

import json

import pytest
import yaml

from control_plane.models import Cluster
from control_plane.sandbox.discovery import GIT_VERSION
from control_plane.sandbox.seed import CROSSPLANE_VERSION, load_demo
from devplat.tests.support import assert_error, call_devplat
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered(platform_admin, sandbox, tmp_path) -> Cluster:
    """The sandbox, registered from its kubeconfig through the CLI as an admin would."""
    path = sandbox.write_kubeconfig(tmp_path / "kubeconfig")
    ran = call_devplat("clusters", "add", "sandbox", "--kubeconfig", str(path), "--as", "root-admin")
    assert ran.code == 0, ran.err
    return Cluster.objects.get(name="sandbox")


def test_a_bare_cluster_answers_with_its_version_and_no_crossplane(registered):
    ran = call_devplat("clusters", "test", "sandbox", "-o", "json", "--as", "root-admin")

    assert ran.code == 0, ran.err
    data = json.loads(ran.out)
    assert (data["reachable"], data["kubernetes_version"], data["crossplane_installed"]) == (True, GIT_VERSION, False)
    assert data["crossplane_version"] is None
    stored = Cluster.objects.get(pk=registered.pk)
    assert (stored.kubernetes_version, stored.crossplane_version, stored.last_error) == (GIT_VERSION, "", "")
    assert stored.last_contact_at is not None
    event = AuditEvent.objects.get(action="cluster.test")
    assert event.after == {
        "reachable": True,
        "kubernetes_version": GIT_VERSION,
        "crossplane_version": None,
        "error": "",
    }


def test_a_cluster_running_crossplane_reports_its_version(registered, sandbox):
    load_demo(sandbox.api)

    ran = call_devplat("clusters", "test", "sandbox", "--as", "root-admin")

    assert (ran.code, ran.out.strip()) == (
        0,
        f"cluster sandbox is reachable: Kubernetes {GIT_VERSION}, Crossplane {CROSSPLANE_VERSION}",
    )
    assert Cluster.objects.get(pk=registered.pk).crossplane_version == CROSSPLANE_VERSION
    listed = yaml.safe_load(call_devplat("clusters", "list", "-o", "yaml", "--as", "root-admin").out)
    assert (listed[0]["kubernetes_version"], listed[0]["crossplane_version"]) == (GIT_VERSION, CROSSPLANE_VERSION)


def test_an_unreachable_cluster_keeps_its_last_contact_and_records_why(registered, sandbox):
    assert call_devplat("clusters", "test", "sandbox", "--as", "root-admin").code == 0
    contacted = Cluster.objects.get(pk=registered.pk).last_contact_at
    sandbox.refuse_connections()

    ran = call_devplat("clusters", "test", "sandbox", "--as", "root-admin")

    assert_error(ran, 1, "cluster sandbox is not reachable: Cannot connect to the API server at")
    stored = Cluster.objects.get(pk=registered.pk)
    assert stored.last_contact_at == contacted
    assert stored.kubernetes_version == GIT_VERSION
    assert "Cannot connect to the API server" in stored.last_error
