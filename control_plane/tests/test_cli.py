"""`devplat clusters ...` driven as an operator would; malicious input is refused with the reason, unconnected."""

from __future__ import annotations

import json

import pytest
import yaml
from cryptography.fernet import Fernet

from control_plane.models import Cluster
from control_plane.tests.factories import ClusterFactory, b64, kubeconfig, pki
from control_plane.tests.support import MALICIOUS_KUBECONFIGS, MALICIOUS_URLS, malicious_kubeconfig
from devplat.core.actor import Face
from devplat.tests.support import assert_error, call_devplat
from governance.models import AuditEvent
from identity.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "CANARY-cli-token-3b9f"
ROW_KEYS = {
    "name",
    "server",
    "enabled",
    "auth_method",
    "labels",
    "kubernetes_version",
    "crossplane_version",
    "last_contact_at",
    "last_error",
    "created_at",
}


@pytest.fixture
def people(platform_admin):
    return {"admin": platform_admin, "developer": UserFactory(username="dev")}


@pytest.fixture
def files(tmp_path):
    """Write a file for the CLI to read; returns its path."""

    def write(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def nothing_changed(clusters: int, audit: int) -> bool:
    return (Cluster.objects.count(), AuditEvent.objects.count()) == (clusters, audit)


# --- add -------------------------------------------------------------------------------------------------------------


def test_add_from_a_kubeconfig_context_registers_and_audits_without_credentials(people, files, listener):
    server = f"https://127.0.0.1:{listener.port}"
    path = files("kubeconfig", kubeconfig(server, user={"token": TOKEN}, context="admin@prod"))

    ran = call_devplat(
        "clusters", "add", "prod", "--kubeconfig", path, "--context", "admin@prod", "-o", "json", "--as", "root-admin"
    )

    assert (ran.code, ran.err) == (0, "")
    data = json.loads(ran.out)
    assert set(data) == ROW_KEYS
    assert (data["name"], data["server"], data["auth_method"], data["enabled"]) == ("prod", server, "token", True)
    assert TOKEN not in ran.out
    assert Cluster.objects.get(name="prod").credentials().token == TOKEN
    event = AuditEvent.objects.get(action="cluster.register")
    assert (event.face, event.actor_username) == (Face.CLI, "root-admin")
    assert TOKEN not in json.dumps(event.after)
    assert listener.inbound() == 0


def test_add_from_server_token_and_ca_files_with_labels_and_disabled(people, files):
    ran = call_devplat(
        "clusters",
        "add",
        "edge",
        "--server",
        "https://127.0.0.1:6443",
        "--token-file",
        files("token", TOKEN + "\n"),
        "--ca-file",
        files("ca.pem", pki().ca_pem),
        "--label",
        "env=prod",
        "--label",
        "region=eu",
        "--disabled",
        "--as",
        "root-admin",
    )

    assert ran.code == 0, ran.err
    assert ran.out.strip() == (
        "cluster edge registered (https://127.0.0.1:6443); check it with `devplat clusters test edge`"
    )
    cluster = Cluster.objects.get(name="edge")
    assert (cluster.enabled, cluster.labels) == (False, {"env": "prod", "region": "eu"})
    assert (cluster.credentials().token, cluster.credentials().ca_data) == (TOKEN, pki().ca_pem)


@pytest.mark.parametrize("case", MALICIOUS_URLS)
def test_add_refuses_malicious_urls_with_the_reason_and_never_connects(
    people, files, listener, connections, loopback_disallowed, case
):
    template, reason = MALICIOUS_URLS[case]
    before = (Cluster.objects.count(), AuditEvent.objects.count())

    ran = call_devplat(
        "clusters",
        "add",
        "evil",
        "--server",
        template.format(port=listener.port),
        "--token-file",
        files("token", TOKEN),
        "--as",
        "root-admin",
    )

    assert_error(ran, 1, "server: ", reason)
    assert "hunter2" not in ran.err
    assert nothing_changed(*before)
    assert listener.inbound() == 0
    assert connections.attempts == []


@pytest.mark.parametrize("case", MALICIOUS_KUBECONFIGS)
def test_add_refuses_malicious_kubeconfigs_with_the_reason_and_never_connects(
    people, files, listener, connections, case
):
    text, reason = malicious_kubeconfig(case, f"https://127.0.0.1:{listener.port}")
    before = (Cluster.objects.count(), AuditEvent.objects.count())

    ran = call_devplat("clusters", "add", "evil", "--kubeconfig", files("kubeconfig", text), "--as", "root-admin")

    assert_error(ran, 1, "kubeconfig: ", reason)
    assert nothing_changed(*before)
    assert listener.inbound() == 0
    assert connections.attempts == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--kubeconfig", "/nonexistent/kubeconfig"), "--kubeconfig /nonexistent/kubeconfig: cannot read it"),
        (("--server", "https://127.0.0.1:6443"), "token: Give the bearer token"),
        (
            ("--server", "https://127.0.0.1:6443", "--token-file", "{token}", "--label", "env"),
            "write labels as KEY=VALUE",
        ),
        (("--context", "prod"), "context: A context picks one entry of a kubeconfig"),
        (("--kubeconfig", "{kubeconfig}", "--server", "https://127.0.0.1:6443"), "not both"),
        (("--server", "https://127.0.0.1:6443", "--token-file", "{token}", "--label", "bad key=x"), "labels: "),
    ],
)
def test_add_mistakes_fail_with_one_line_that_says_what_to_do(people, files, args, says):
    paths = {"token": files("token", TOKEN), "kubeconfig": files("kc", kubeconfig("https://127.0.0.1:6443"))}
    before = (Cluster.objects.count(), AuditEvent.objects.count())

    ran = call_devplat("clusters", "add", "x", *(a.format(**paths) for a in args), "--as", "root-admin")

    assert_error(ran, 1, says)
    assert nothing_changed(*before)


def test_add_refuses_a_taken_name(people, files):
    ClusterFactory(name="prod")
    ran = call_devplat(
        "clusters", "add", "prod", "--kubeconfig", files("kc", kubeconfig("https://127.0.0.1:1")), "--as", "root-admin"
    )
    assert_error(ran, 1, "name: A cluster named 'prod' already exists")


def test_only_platform_admins_add_clusters(people, files):
    ran = call_devplat(
        "clusters", "add", "prod", "--kubeconfig", files("kc", kubeconfig("https://127.0.0.1:1")), "--as", "dev"
    )
    assert_error(ran, 1, "Only platform admins register clusters")
    assert not Cluster.objects.exists()


# --- list, test, remove, rotate-keys ---------------------------------------------------------------------------------


def test_everyone_lists_clusters_without_credentials(people):
    material = pki()
    ClusterFactory(name="prod", token=TOKEN, ca_data=material.ca_pem, client_cert=True, labels={"env": "prod"})
    ClusterFactory(name="edge", enabled=False)

    table = call_devplat("clusters", "list", "--as", "dev")
    data = yaml.safe_load(call_devplat("clusters", "list", "-o", "yaml", "--as", "dev").out)

    assert table.code == 0
    header, *rows = [line for line in table.out.splitlines() if line.strip() and not line.startswith("─")]
    assert header.split()[:3] == ["NAME", "SERVER", "ENABLED"]
    assert [row.split()[0] for row in rows] == ["edge", "prod"]
    assert [(c["name"], c["auth_method"], c["labels"]) for c in data] == [
        ("edge", "token", []),
        ("prod", "token+client-certificate", ["env=prod"]),
    ]
    assert all(set(row) == ROW_KEYS for row in data)
    for output in (table.out, json.dumps(data)):
        assert TOKEN not in output
        assert "BEGIN" not in output


def test_test_records_an_unreachable_cluster_and_exits_1_without_connecting(people, listener, connections, settings):
    cluster = ClusterFactory(name="local", server=f"https://127.0.0.1:{listener.port}")  # as on a laptop
    settings.DEVPLAT_ALLOW_LOOPBACK_CLUSTERS = False  # ...then the setting changed, as in production

    ran = call_devplat("clusters", "test", "local", "--as", "root-admin")

    assert_error(ran, 1, "cluster local is not reachable: ", "127.0.0.1 is a loopback address")
    assert "is a loopback address" in Cluster.objects.get(pk=cluster.pk).last_error
    assert AuditEvent.objects.filter(action="cluster.test", actor_username="root-admin").count() == 1
    assert listener.inbound() == 0
    assert connections.to(port=listener.port) == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("test", "prod"), "Only platform admins test clusters"),
        (("remove", "prod"), "Only platform admins remove clusters"),
        (("rotate-keys",), "Only platform admins rotate the cluster credential keys"),
    ],
)
def test_only_platform_admins_test_remove_or_rotate(people, args, says):
    ClusterFactory(name="prod")
    before = (Cluster.objects.count(), AuditEvent.objects.count())
    assert_error(call_devplat("clusters", *args, "--as", "dev"), 1, says)
    assert nothing_changed(*before)


@pytest.mark.parametrize("verb", ["test", "remove"])
def test_an_unknown_cluster_says_how_to_list_them(people, verb):
    assert_error(call_devplat("clusters", verb, "ghost", "--as", "root-admin"), 1, "No cluster named 'ghost'", "list")


def test_remove_forgets_the_cluster_and_audits_it(people):
    ClusterFactory(name="prod")
    ran = call_devplat("clusters", "remove", "prod", "--as", "root-admin")
    assert (ran.code, ran.out.strip()) == (0, "cluster prod removed")
    assert not Cluster.objects.exists()
    assert AuditEvent.objects.get(action="cluster.remove").actor_username == "root-admin"


def test_rotate_keys_re_encrypts_under_the_new_key_and_says_the_old_one_can_go(people, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.DEVPLAT_CLUSTER_KEYS = [old]
    ClusterFactory(name="prod", token=TOKEN)
    settings.DEVPLAT_CLUSTER_KEYS = [new, old]

    ran = call_devplat("clusters", "rotate-keys", "--as", "root-admin")

    assert ran.code == 0
    assert "re-encrypted the credentials of 1 cluster(s) with the newest key" in ran.out
    settings.DEVPLAT_CLUSTER_KEYS = [new]
    assert Cluster.objects.get(name="prod").credentials().token == TOKEN


def test_rotate_keys_with_a_retired_key_changes_nothing_and_says_how_to_recover(people, settings):
    settings.DEVPLAT_CLUSTER_KEYS = [Fernet.generate_key().decode()]
    ClusterFactory(name="prod")
    settings.DEVPLAT_CLUSTER_KEYS = [Fernet.generate_key().decode()]

    ran = call_devplat("clusters", "rotate-keys", "--as", "root-admin")

    assert_error(ran, 1, "nothing was re-encrypted: cluster 'prod'", "Put that key back")


def test_add_with_a_client_certificate_kubeconfig(people, files):
    material = pki()
    text = kubeconfig(
        "https://127.0.0.1:6443",
        user={
            "client-certificate-data": b64(material.client_cert_pem),
            "client-key-data": b64(material.client_key_pem),
        },
    )
    ran = call_devplat(
        "clusters", "add", "certs", "--kubeconfig", files("kc", text), "-o", "yaml", "--as", "root-admin"
    )
    assert yaml.safe_load(ran.out)["auth_method"] == "client-certificate"
    assert "PRIVATE KEY" not in ran.out
