"""capability_request and friends against the demo cluster over HTTP: what reaches the cluster, what is recorded,
and what is refused with which message."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from control_plane.choices import RequestStatusChoices
from control_plane.models import ProvisioningRequest
from control_plane.provisioning import services
from control_plane.provisioning.cluster import FIELD_MANAGER
from control_plane.provisioning.tests.conftest import Platform, apply_as, mark_ready
from devplat.core.actor import Face, acting, actor_for
from devplat.core.errors import Conflict, Forbidden, NotFound
from governance.models import AuditEvent

NS = "team-checkout"


def _request(platform: Platform, capability: str = "Database", name: str = "orders-db", **kwargs):
    """The service as a face calls it: with the acting user in the actor context the audit log reads."""
    kwargs.setdefault("team", "checkout")
    user = kwargs.pop("user", platform.alice)
    with acting(actor_for(user, face=Face.CLI)):
        return services.capability_request(user=user, capability=capability, name=name, **kwargs)


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


def test_a_request_applies_the_composite_as_devplat_with_defaults_and_is_recorded_and_audited(platform: Platform):
    outcome = _request(platform, parameters={"size": "medium"}, environment="staging")

    live = platform.live("databases", NS, "orders-db")
    assert live["spec"]["size"] == "medium"
    assert live["spec"]["storageGB"] == 20  # the XRD's default, filled in by devplat
    assert live["metadata"]["labels"] == {
        "devplat.io/team": "checkout",
        "devplat.io/environment": "staging",
        "devplat.io/request": str(outcome.request.pk),
    }
    assert [m["manager"] for m in live["metadata"]["managedFields"]] == [FIELD_MANAGER]
    request = ProvisioningRequest.objects.get()
    assert (request.status, request.namespace, request.cluster, request.resource_uid) == (
        RequestStatusChoices.APPLIED,
        NS,
        platform.cluster,
        live["metadata"]["uid"],
    )
    assert request.parameters == {"size": "medium"}
    event = AuditEvent.objects.get(action="provisioning.request.create")
    assert (event.actor_username, event.target_id, event.after["name"]) == ("alice", str(request.pk), "orders-db")


def test_a_dry_run_returns_the_object_as_the_server_would_store_it_and_creates_nothing(platform: Platform):
    outcome = _request(platform, parameters={"storageGB": 50}, dry_run=True)

    assert outcome.request is None
    assert outcome.object["spec"]["storageGB"] == 50
    assert outcome.object["spec"]["backups"] == {"enabled": True, "retentionDays": 7}
    assert outcome.object["metadata"]["namespace"] == NS
    assert not platform.exists("databases", NS, "orders-db")
    assert not ProvisioningRequest.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="provisioning.").exists()


@pytest.mark.parametrize(
    ("parameters", "field", "words"),
    [
        ({"storageGB": 5000}, "parameters.storageGB", "less than or equal to 1000"),
        ({"size": "huge"}, "parameters.size", "small"),
        ({"engineVersion": 16}, "parameters.engineVersion", "string"),
        ({"sise": "small"}, "parameters.sise", "no parameter 'sise'"),
    ],
)
def test_bad_parameters_name_the_field_and_the_rule_and_nothing_is_applied(platform, parameters, field, words):
    with pytest.raises(ValidationError) as exc:
        _request(platform, parameters=parameters)

    assert words in " ".join(_errors(exc)[field])
    assert not platform.exists("databases", NS, "orders-db")


def test_a_cel_rule_of_the_xrd_is_enforced_with_its_message(platform: Platform):
    with pytest.raises(ValidationError) as exc:
        _request(platform, "App", "orders", parameters={"image": "ghcr.io/acme/orders:latest"})

    assert "must not use the mutable :latest tag" in str(exc.value)
    assert not platform.exists("apps", NS, "orders")


def test_a_policy_denial_lists_every_violated_policy(platform: Platform):
    with pytest.raises(ValidationError) as exc:
        _request(platform, "App", "orders", parameters={"image": "ghcr.io/acme/orders:1.0.0"}, environment="prod")
    assert any("apps-declare-resource-limits" in message for message in _errors(exc)["policies"])

    with pytest.raises(ValidationError) as exc:
        _request(platform, parameters={"backups": {"enabled": False}}, environment="prod")
    assert _errors(exc)["policies"] == [
        message for message in _errors(exc)["policies"] if message.startswith("production-databases-need-backups")
    ]
    assert "backups" in _errors(exc)["policies"][0]
    assert not ProvisioningRequest.objects.exists()

    _request(platform, parameters={"backups": {"enabled": False}}, environment="dev")  # the policy targets prod only
    assert platform.exists("databases", NS, "orders-db")


def test_the_namespace_comes_from_the_team_never_from_the_caller(platform: Platform):
    with pytest.raises(ValidationError) as exc:
        _request(platform, name="stolen-db", namespace="team-payments")
    assert "not team checkout's" in " ".join(_errors(exc)["namespace"])
    assert not platform.exists("databases", "team-payments", "stolen-db")


def test_only_developers_of_the_team_may_request(platform: Platform):
    with pytest.raises(Forbidden, match="ask a team admin to make you a developer"):
        _request(platform, user=platform.vera)
    with pytest.raises(NotFound, match="No team named 'checkout'"):
        _request(platform, user=platform.pete)
    assert not platform.exists("databases", NS, "orders-db")


def test_a_second_request_of_the_same_name_is_a_conflict(platform: Platform):
    _request(platform)
    with pytest.raises(Conflict, match="already exists in team-checkout"):
        _request(platform, parameters={"size": "large"})


def test_fields_owned_by_another_manager_are_a_conflict_naming_it(platform: Platform):
    apply_as(platform, "kubectl", "orders-db", {"size": "large"})

    with pytest.raises(Conflict, match="kubectl"):
        _request(platform, parameters={"size": "medium"})
    assert not ProvisioningRequest.objects.exists()  # the cluster refused, so nothing is recorded
    assert platform.live("databases", NS, "orders-db")["spec"]["size"] == "large"


def test_an_update_merges_parameters_reapplies_and_removes_what_was_dropped(platform: Platform):
    request = _request(platform, parameters={"size": "medium", "storageGB": 50}).request

    services.provisioning_request_update(
        user=platform.alice, request=request, parameters={"size": None, "storageGB": 80}
    )

    live = platform.live("databases", NS, "orders-db")
    assert (live["spec"]["size"], live["spec"]["storageGB"]) == ("small", 80)
    request.refresh_from_db()
    assert request.parameters == {"storageGB": 80}
    event = AuditEvent.objects.get(action="provisioning.request.update")
    assert (event.before["parameters"], event.after["parameters"]) == (
        {"size": "medium", "storageGB": 50},
        {"storageGB": 80},
    )


def test_an_update_that_breaks_a_transition_rule_is_refused_before_the_cluster(platform: Platform):
    request = _request(platform, parameters={"storageGB": 50}).request

    with pytest.raises(ValidationError) as exc:
        services.provisioning_request_update(user=platform.alice, request=request, parameters={"storageGB": 30})

    assert "cannot be decreased" in str(exc.value)
    assert platform.live("databases", NS, "orders-db")["spec"]["storageGB"] == 50


def test_a_request_waits_for_its_dependency_then_applies_once_it_is_ready_with_its_secret(platform: Platform):
    database = _request(platform).request
    app = _request(
        platform,
        "App",
        "orders",
        parameters={"image": "ghcr.io/acme/orders:1.4.2", "databaseRef": {"name": "orders-db"}},
        depends_on=["Database/orders-db"],
    ).request

    assert app.status == RequestStatusChoices.WAITING
    assert app.waiting_for == ["Database/orders-db is not Ready (no Ready condition yet)"]
    assert not platform.exists("apps", NS, "orders")

    mark_ready(platform, "databases", NS, "orders-db")
    assert services.provisioning_request_advance(request_id=app.pk) == RequestStatusChoices.WAITING
    app.refresh_from_db()
    assert app.waiting_for == ["Secret orders-db-conn of Database/orders-db does not exist yet"]

    mark_ready(platform, "databases", NS, "orders-db", secret=database.connection_secret)
    assert services.provisioning_request_advance(request_id=app.pk) == RequestStatusChoices.APPLIED
    assert platform.live("apps", NS, "orders")["spec"]["image"] == "ghcr.io/acme/orders:1.4.2"
    assert AuditEvent.objects.filter(action="provisioning.request.apply", target_id=str(app.pk)).exists()


def test_missing_dependencies_and_cycles_are_refused_when_requested(platform: Platform):
    with pytest.raises(ValidationError) as exc:
        _request(platform, "App", "orders", parameters={"image": "a/b:1"}, depends_on=["Database/nope"])
    assert "No request Database/nope in team checkout" in str(exc.value)

    first = _request(platform, "Cache", "sessions").request
    second = _request(platform, "Database", "orders-db", depends_on=["Cache/sessions"]).request
    with pytest.raises(ValidationError) as exc:
        services.provisioning_request_update(user=platform.alice, request=first, depends_on=["Database/orders-db"])
    assert "cycle: Cache/sessions -> Database/orders-db -> Cache/sessions" in str(exc.value)
    assert list(first.depends_on.all()) == []
    assert list(second.depends_on.all()) == [first]


def test_delete_removes_the_composite_and_is_refused_while_others_depend_on_it(platform: Platform):
    database = _request(platform).request
    app = _request(platform, "App", "orders", parameters={"image": "a/b:1"}, depends_on=["Database/orders-db"]).request

    with pytest.raises(Conflict, match="App/orders depend on Database/orders-db"):
        services.provisioning_request_delete(user=platform.alice, request=database)
    assert platform.exists("databases", NS, "orders-db")

    services.provisioning_request_delete(user=platform.alice, request=app)
    services.provisioning_request_delete(user=platform.alice, request=database)
    assert not platform.exists("databases", NS, "orders-db")
    database.refresh_from_db()
    assert database.status == RequestStatusChoices.DELETED
    assert AuditEvent.objects.filter(action="provisioning.request.delete").count() == 2
    _request(platform)  # the name is free again


def test_policy_violations_that_do_not_deny_are_kept_in_the_audit_event(platform: Platform):
    from governance.services import policy_create

    with acting(actor_for(platform.admin, face=Face.CLI)):
        policy_create(
            name="large-databases-are-reviewed",
            expression="object.spec.size != 'large'",
            message="Large databases are reviewed monthly for cost.",
            mode="audit",
            kinds=["Database"],
        )

    outcome = _request(platform, parameters={"size": "large"})

    assert outcome.warnings == []  # audit mode neither denies nor warns the requester
    event = AuditEvent.objects.get(action="provisioning.request.create")
    assert event.after["policy_findings"] == [
        "large-databases-are-reviewed (audit): Large databases are reviewed monthly for cost."
    ]
