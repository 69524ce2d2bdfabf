"""`RestrictedQuerySet.granted_pks`: the one-query reading of guardian's grants decides exactly as guardian and
Django's ModelBackend do, in every way a grant can be given or taken back, and nothing is remembered between calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from identity import services as identity
from identity.models import Team
from identity.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ACTIONS = ("view", "change", "delete")


def guardian_answer(user: Any, action: str) -> list[int] | None:
    """What the previous implementation asked: a model-wide grant (None: every row), else guardian's objects."""
    perm = f"identity.{action}_team"
    if user.has_perm(perm):
        return None
    granted = get_objects_for_user(user, perm, klass=Team, accept_global_perms=False, with_superuser=False)
    return sorted(granted.values_list("pk", flat=True))


def fresh(user: Any) -> Any:
    """The user as a request loads it: no permission cache left from an earlier question."""
    return type(user).objects.get(pk=user.pk)


def assert_same(user: Any) -> None:
    for action in ACTIONS:
        assert Team.objects.granted_pks(fresh(user), action) == guardian_answer(fresh(user), action), action


@pytest.fixture
def teams() -> list[Team]:
    return [identity.team_create(name=name) for name in ("alpha", "beta", "gamma")]


def view_team() -> Permission:
    return Permission.objects.get(codename="view_team", content_type__app_label="identity")


GRANTS: dict[str, Callable[[Any, list[Team]], None]] = {
    "nothing": lambda user, teams: None,
    "member": lambda user, teams: identity.membership_set(team=teams[0], user=user, role="developer"),
    "team admin": lambda user, teams: identity.membership_set(team=teams[1], user=user, role="admin"),
    "two teams": lambda user, teams: [
        identity.membership_set(team=team, user=user, role="viewer") for team in teams[:2]
    ],
    "object grant to the user": lambda user, teams: assign_perm("identity.view_team", user, teams[2]),
    "object grant to another group of the user": lambda user, teams: (
        user.groups.add(group := Group.objects.create(name="auditors")),
        assign_perm("identity.change_team", group, teams[0]),
    ),
    "model-wide grant to the user": lambda user, teams: user.user_permissions.add(view_team()),
    "model-wide grant to a group of the user": lambda user, teams: (
        user.groups.add(group := Group.objects.create(name="readers")),
        group.permissions.add(view_team()),
    ),
    "superuser": lambda user, teams: type(user).objects.filter(pk=user.pk).update(is_superuser=True),
}


@pytest.mark.parametrize("grant", GRANTS)
def test_granted_pks_decides_as_guardian_and_model_backend_do(teams, grant):
    user = UserFactory()
    GRANTS[grant](user, teams)
    assert_same(user)


def test_the_answer_changes_with_the_grants_at_once(teams):
    """Each change of membership or grant shows in the very next answer: nothing is cached."""
    user = UserFactory()
    assert Team.objects.granted_pks(fresh(user), "view") == []
    identity.membership_set(team=teams[1], user=user, role="developer")
    assert Team.objects.granted_pks(fresh(user), "view") == [teams[1].pk]
    assign_perm("identity.view_team", user, teams[2])
    assert Team.objects.granted_pks(fresh(user), "view") == sorted([teams[1].pk, teams[2].pk])
    remove_perm("identity.view_team", user, teams[2])
    identity.membership_remove(team=teams[1], user=user)
    assert Team.objects.granted_pks(fresh(user), "view") == []
    user.user_permissions.add(view_team())
    assert Team.objects.granted_pks(fresh(user), "view") is None
    user.user_permissions.remove(view_team())
    assert Team.objects.granted_pks(fresh(user), "view") == []
    assert_same(user)


def test_a_grant_on_another_model_or_action_grants_nothing_here(teams):
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="view_group"))
    assign_perm("identity.change_team", user, teams[0])
    assert Team.objects.granted_pks(fresh(user), "view") == []
    assert Team.objects.granted_pks(fresh(user), "change") == [teams[0].pk]


def test_restrict_filters_on_the_granted_pks(teams):
    user = UserFactory()
    identity.membership_set(team=teams[2], user=user, role="developer")
    assert list(Team.objects.restrict(fresh(user), "view")) == [teams[2]]
    assert list(Team.objects.restrict(fresh(user), "delete")) == []
