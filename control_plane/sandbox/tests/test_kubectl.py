"""The realism check: the real `kubectl` against `devplat sandbox serve`, with no `--validate=false`.

kubectl comes from Debian's `kubernetes-client` package (`.ci/run` installs it when missing). These tests start the
sandbox as a process exactly as a user would, then drive kubectl with the kubeconfig it wrote.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devplat.tests.support import REPO_ROOT, subprocess_env

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed (kubernetes-client)")

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.devplat.io
spec:
  group: example.devplat.io
  scope: Namespaced
  names: {kind: Gadget, plural: gadgets, singular: gadget, shortNames: [gd], categories: [composite]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: string, enum: [small, large]}
              replicas: {type: integer, default: 1}
"""
OBJECTS = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: example.devplat.io/v1
kind: Gadget
metadata: {name: g1, namespace: shop}
spec: {size: small}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Path]:
    """`devplat sandbox serve` as a process; yields the kubeconfig it wrote."""
    folder = tmp_path_factory.mktemp("kubectl")
    kubeconfig = folder / "kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "devplat", "sandbox", "serve", "--kubeconfig-out", str(kubeconfig)],
        cwd=REPO_ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not kubeconfig.exists():
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.1)
        (folder / "crd.yaml").write_text(CRD)
        (folder / "objects.yaml").write_text(OBJECTS)
        yield kubeconfig
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


def kubectl(kubeconfig: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(kubeconfig.parent)}
    done = subprocess.run(
        ["kubectl", *args], env=env, capture_output=True, text=True, timeout=60, cwd=kubeconfig.parent
    )
    if check:
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done


def test_api_resources_lists_builtin_kinds(served):
    out = kubectl(served, "api-resources").stdout
    for line in ("deployments", "customresourcedefinitions", "horizontalpodautoscalers"):
        assert line in out


def test_server_side_apply_of_a_crd_then_objects_with_validation(served):
    kubectl(served, "apply", "--server-side", "-f", "crd.yaml")
    kubectl(served, "wait", "--for=condition=established", "crd/gadgets.example.devplat.io", "--timeout=10s")
    assert "gadgets" in kubectl(served, "api-resources", "--api-group=example.devplat.io").stdout
    applied = kubectl(served, "apply", "--server-side", "-f", "objects.yaml").stdout
    assert "gadget.example.devplat.io/g1 serverside-applied" in applied
    gadget = json.loads(
        kubectl(served, "get", "gadget", "g1", "-n", "shop", "-o", "json", "--show-managed-fields").stdout
    )
    assert gadget["spec"] == {"size": "small", "replicas": 1}
    assert gadget["metadata"]["managedFields"][0]["manager"] == "kubectl"
    (served.parent / "bad.yaml").write_text(
        "apiVersion: example.devplat.io/v1\nkind: Gadget\nmetadata: {name: g2, namespace: shop}\n"
        "spec: {size: huge, colour: red}\n"
    )
    refused = kubectl(served, "apply", "--server-side", "-f", "bad.yaml", check=False)
    assert refused.returncode != 0
    assert "colour" in refused.stderr or "huge" in refused.stderr


def test_label_patch_and_get_with_chunks(served):
    kubectl(served, "apply", "--server-side", "-f", "objects.yaml")
    kubectl(served, "label", "deployment", "web", "-n", "shop", "tier=frontend")
    kubectl(served, "patch", "deployment", "web", "-n", "shop", "-p", '{"spec":{"replicas":3}}')
    deployment = json.loads(kubectl(served, "get", "deploy", "web", "-n", "shop", "-o", "json").stdout)
    assert deployment["metadata"]["labels"]["tier"] == "frontend"
    assert deployment["spec"]["replicas"] == 3
    (served.parent / "configmaps.yaml").write_text(
        "---\n".join(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cfg-{index}, namespace: shop}}\ndata: {{k: v}}\n"
            for index in range(7)
        )
    )
    kubectl(served, "create", "-f", "configmaps.yaml")
    names = kubectl(served, "get", "configmaps", "-n", "shop", "--chunk-size=2", "-o", "name").stdout.split()
    assert names == [f"configmap/cfg-{index}" for index in range(7)]
    listed = kubectl(served, "get", "deploy", "-n", "shop", "-l", "tier=frontend").stdout
    assert "web" in listed


def test_watch_with_event_types_then_delete(served):
    (served.parent / "watched.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: watched}\n")
    (served.parent / "seen.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: seen, namespace: watched}\ndata: {a: b}\n"
    )
    kubectl(served, "apply", "-f", "watched.yaml")
    env = {**os.environ, "KUBECONFIG": str(served), "HOME": str(served.parent)}
    watcher = subprocess.Popen(
        ["kubectl", "get", "configmaps", "-n", "watched", "-w", "--output-watch-events"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)
        kubectl(served, "apply", "-f", "seen.yaml")
        kubectl(served, "delete", "configmap", "seen", "-n", "watched")
        time.sleep(1.0)
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
    assert re.search(r"ADDED\s+seen", out) and re.search(r"DELETED\s+seen", out), out
    assert kubectl(served, "get", "configmap", "seen", "-n", "watched", check=False).returncode != 0


def test_generators_that_send_protobuf_create_namespaces_configmaps_and_secrets(served):
    kubectl(served, "create", "namespace", "proto")
    kubectl(served, "create", "configmap", "settings", "-n", "proto", "--from-literal=level=debug")
    kubectl(served, "create", "secret", "generic", "creds", "-n", "proto", "--from-literal=password=s3cret")
    kubectl(served, "create", "serviceaccount", "robot", "-n", "proto")
    config = json.loads(kubectl(served, "get", "configmap", "settings", "-n", "proto", "-o", "json").stdout)
    assert config["data"] == {"level": "debug"}
    secret = json.loads(kubectl(served, "get", "secret", "creds", "-n", "proto", "-o", "json").stdout)
    assert secret["data"] == {"password": "czNjcmV0"} and secret["type"] == "Opaque"
    assert "robot" in kubectl(served, "get", "serviceaccounts", "-n", "proto").stdout


def test_generators_for_kinds_without_a_protobuf_decoder_get_a_clear_415(served):
    refused = kubectl(served, "create", "deployment", "web", "--image=nginx:1", check=False)
    assert refused.returncode != 0
    assert "kubectl apply -f" in refused.stderr


def test_scale_a_deployment(served):
    kubectl(served, "apply", "--server-side", "-f", "objects.yaml")
    kubectl(served, "scale", "deployment", "web", "-n", "shop", "--replicas=5")
    deployment = json.loads(kubectl(served, "get", "deploy", "web", "-n", "shop", "-o", "json").stdout)
    assert deployment["spec"]["replicas"] == 5
    refused = kubectl(served, "scale", "deployment", "web", "-n", "shop", "--replicas=-1", check=False)
    assert refused.returncode != 0
