"""Cluster credentials reach neither the database in the clear, nor responses, CLI output, audit rows or logs (R16)."""

from __future__ import annotations

import base64
import logging

import pytest
from django.test import Client

from control_plane import services
from control_plane.tests.factories import b64, kubeconfig, pki
from control_plane.tests.support import database_text
from devplat.tests.support import call_devplat

pytestmark = pytest.mark.django_db

CANARY = "CANARY-7f3a-cluster-secret"


def register_every_way(token_client, platform_admin, tmp_path, sandbox) -> list[str]:
    """Register clusters through the services, the CLI, the API and the admin, with a token and PEM material,
    plus refused attempts carrying the canary, and probe one (the sandbox) with the real client; return every
    response and output text they produced."""
    material = pki()
    full_user = {
        "token": f"{CANARY}-kubeconfig",
        "client-certificate-data": b64(material.client_cert_pem),
        "client-key-data": b64(material.client_key_pem),
    }
    full = kubeconfig(
        "https://127.0.0.1:6443", user=full_user, cluster={"certificate-authority-data": b64(material.ca_pem)}
    )
    services.cluster_register(
        name="by-service",
        credentials=services.credentials_from_input(
            server="https://127.0.0.1:6443", token=f"{CANARY}-service", ca_data=material.ca_pem
        ),
    )
    kubeconfig_file = tmp_path / "kubeconfig"
    kubeconfig_file.write_text(full)
    token_file = tmp_path / "token"
    token_file.write_text(f"{CANARY}-cli")
    evil_file = tmp_path / "evil"
    evil_file.write_text(kubeconfig("https://127.0.0.1:6443", user={"token": CANARY, "exec": {"command": CANARY}}))
    outputs = [
        call_devplat("clusters", "add", "by-cli", "--kubeconfig", str(kubeconfig_file), "--as", "root-admin"),
        call_devplat(
            "clusters",
            "add",
            "by-cli-token",
            "--server",
            "https://127.0.0.1:6443",
            "--token-file",
            str(token_file),
            "-o",
            "json",
            "--as",
            "root-admin",
        ),
        call_devplat("clusters", "add", "evil", "--kubeconfig", str(evil_file), "--as", "root-admin"),
        call_devplat("clusters", "list", "-o", "yaml", "--as", "root-admin"),
    ]
    texts = [ran.out + ran.err for ran in outputs]
    api = token_client(platform_admin, scope="admin")
    texts += [
        api.post("/api/v1/clusters/", {"name": "by-api", "kubeconfig": full}, format="json").content.decode(),
        api.post(
            "/api/v1/clusters/",
            {"name": "by-api-token", "server": "https://127.0.0.1:6443", "token": f"{CANARY}-api"},
            format="json",
        ).content.decode(),
        api.post(
            "/api/v1/clusters/", {"name": "evil", "server": "https://169.254.169.254", "token": CANARY}, format="json"
        ).content.decode(),
        api.patch(
            "/api/v1/clusters/by-api/",
            {"server": "https://127.0.0.1:6444", "token": f"{CANARY}-patched"},
            format="json",
        ).content.decode(),
        api.post(
            "/api/v1/clusters/", {"name": "by-probe", "server": sandbox.url, "token": f"{CANARY}-probe"}, format="json"
        ).content.decode(),
        api.post("/api/v1/clusters/by-probe/test/").content.decode(),
        api.post("/api/v1/clusters/by-api/test/").content.decode(),  # nothing listens there: a transport error
        api.get("/api/v1/clusters/").content.decode(),
    ]
    console = Client()
    console.force_login(platform_admin)
    texts += [
        console.post(
            "/admin/control_plane/cluster/add/",
            {
                "name": "by-admin",
                "enabled": "on",
                "labels": "{}",
                "server_url": "https://127.0.0.1:6443",
                "token": f"{CANARY}-admin",
            },
            follow=True,
        ).content.decode(),
        console.get("/admin/control_plane/cluster/").content.decode(),
    ]
    return texts


def test_a_database_dump_holds_no_credential_material(token_client, platform_admin, tmp_path, sandbox):
    register_every_way(token_client, platform_admin, tmp_path, sandbox)
    material = pki()

    dump = database_text()

    assert "by-cli" in dump["control_plane_cluster.name"]  # the scan reads the rows it must judge
    assert dump["control_plane_cluster.credentials_ciphertext"].count("gAAAAA") == 7
    needles = [
        CANARY,
        "BEGIN CERTIFICATE",
        "PRIVATE KEY",
        "client-key-data",
        "certificate-authority-data",
        "token:",
        material.client_key_pem.splitlines()[1],
        material.ca_pem.splitlines()[1],
        base64.b64encode(material.client_key_pem.encode()).decode()[:40],
    ]
    for needle in needles:
        found = [column for column, text in dump.items() if needle in text]
        assert found == [], f"{needle!r} found in {found}"


def test_no_response_output_or_log_line_carries_the_canary(token_client, platform_admin, tmp_path, sandbox, caplog):
    caplog.set_level(logging.DEBUG)

    texts = register_every_way(token_client, platform_admin, tmp_path, sandbox)

    assert any("by-api" in text for text in texts)  # the faces answered
    assert any("has exec" in text for text in texts)  # ...including the refusals
    assert any('"reachable":true' in text for text in texts)  # ...and the probe, which sent the token
    for text in texts:
        assert CANARY not in text
    assert caplog.records, "nothing was logged: the capture is not working"
    assert CANARY not in caplog.text
    assert all(CANARY not in str(record.args) for record in caplog.records)
