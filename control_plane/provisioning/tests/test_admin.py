"""The operator console: capabilities with their parameters, requests with their phase, created and deleted through
the same service as the CLI and the API."""

from __future__ import annotations

from django.test import Client

from control_plane.models import Capability, ProvisioningRequest
from control_plane.provisioning.tests.conftest import Platform
from governance.models import AuditEvent

NS = "team-checkout"


def console(platform: Platform) -> Client:
    client = Client()
    client.force_login(platform.admin)
    return client


def test_capabilities_are_listed_with_their_parameters_and_schema(platform: Platform):
    client = console(platform)
    listed = client.get("/admin/control_plane/capability/")
    assert listed.status_code == 200
    assert b"databases.platform.devplat.io" in listed.content

    database = Capability.objects.get(name="databases.platform.devplat.io")
    page = client.get(f"/admin/control_plane/capability/{database.pk}/change/")
    assert page.status_code == 200
    assert b"<td>storageGB</td><td>integer</td><td>20</td>" in page.content
    assert b"&quot;backups&quot;" in page.content  # the schema itself


def test_a_request_made_in_the_console_is_validated_applied_and_audited_like_any_other(platform: Platform):
    client = console(platform)
    form = {
        "team": platform.checkout.pk,
        "capability": "Database",
        "name": "orders-db",
        "environment": "dev",
        "parameters": '{"storageGB": 5000}',
    }
    refused = client.post("/admin/control_plane/provisioningrequest/add/", form)
    assert refused.status_code == 200  # the form again, with the service's refusal on it
    assert b"less than or equal to 1000" in refused.content
    assert not ProvisioningRequest.objects.exists()

    created = client.post("/admin/control_plane/provisioningrequest/add/", {**form, "parameters": '{"storageGB": 50}'})
    assert created.status_code == 302, created.content[:2000]
    assert platform.live("databases", NS, "orders-db")["spec"]["storageGB"] == 50
    request = ProvisioningRequest.objects.get()
    event = AuditEvent.objects.get(action="provisioning.request.create")
    assert (event.face, event.actor_username, event.target_id) == ("admin", "root", str(request.pk))

    listed = client.get("/admin/control_plane/provisioningrequest/")
    assert b"Applied" in listed.content
    page = client.get(f"/admin/control_plane/provisioningrequest/{request.pk}/change/")
    assert page.status_code == 200
    assert b"&quot;storageGB&quot;: 50" in page.content

    deleted = client.post(
        "/admin/control_plane/provisioningrequest/",
        {"action": "delete_through_devplat", "_selected_action": [request.pk]},
    )
    assert deleted.status_code == 302
    assert not platform.exists("databases", NS, "orders-db")
    assert AuditEvent.objects.filter(action="provisioning.request.delete", face="admin").exists()
