"""RestrictedQuerySet.restrict: the one gate every user-facing read goes through."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from guardian.shortcuts import assign_perm

from devplat.core.errors import Forbidden
from devplat.core.querysets import ACTIONS, is_platform_admin, require_platform_admin
from identity.models import ApiToken, Team
from identity.tests.factories import ApiTokenFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams():
    return [TeamFactory(name="alpha"), TeamFactory(name="beta"), TeamFactory(name="gamma")]


def names(queryset) -> list[str]:
    return sorted(queryset.values_list("name", flat=True))


@pytest.mark.parametrize("action", ACTIONS)
def test_active_staff_see_every_row_for_every_action(teams, action):
    staff = UserFactory(is_staff=True)  # staff without superuser: being a platform admin is what counts
    assert is_platform_admin(staff)
    assert names(Team.objects.restrict(staff, action)) == ["alpha", "beta", "gamma"]


@pytest.mark.parametrize("action", ACTIONS)
def test_anonymous_users_see_nothing(teams, action):
    assert not Team.objects.restrict(AnonymousUser(), action).exists()
    assert not Team.objects.restrict(None, action).exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_inactive_users_see_nothing_even_as_staff_or_member(teams, action):
    member = MembershipFactory(team=teams[0], role="admin").user
    staff = UserFactory(is_staff=True, is_superuser=True)
    assert Team.objects.restrict(member, "view").exists()  # the control: active, they do see something
    for user in (member, staff):
        user.is_active = False
        user.save(update_fields=["is_active"])
        assert not Team.objects.restrict(user, action).exists()
    assert not is_platform_admin(staff)


def test_unknown_action_is_refused_not_treated_as_view(teams):
    staff = UserFactory(is_staff=True)
    for action in ("read", "View", "", "admin"):
        with pytest.raises(ValueError, match="unknown action"):
            Team.objects.restrict(staff, action)


def test_members_see_their_own_teams_only(teams):
    member = MembershipFactory(team=teams[1], role="viewer").user
    assert names(Team.objects.restrict(member, "view")) == ["beta"]
    assert not Team.objects.restrict(member, "change").exists()
    assert not Team.objects.restrict(member, "delete").exists()
    assert not Team.objects.restrict(member, "add").exists()


def test_a_signed_in_user_with_no_grants_sees_nothing(teams):
    assert not Team.objects.restrict(UserFactory(), "view").exists()


def test_object_permission_granted_to_the_user_covers_only_that_object(teams):
    user = UserFactory()
    assign_perm("identity.view_team", user, teams[2])
    assert names(Team.objects.restrict(user, "view")) == ["gamma"]


def test_a_global_model_permission_covers_every_row(teams):
    """An auditor given `identity.view_team` on the model (not per object) sees every team, as documented."""
    auditor = UserFactory()
    auditor.user_permissions.add(Permission.objects.get(codename="view_team", content_type__app_label="identity"))
    assert names(Team.objects.restrict(auditor, "view")) == ["alpha", "beta", "gamma"]
    assert not Team.objects.restrict(auditor, "change").exists()


def test_restrict_composes_with_other_filters(teams):
    member = MembershipFactory(team=teams[0]).user
    MembershipFactory(team=teams[1], user=member)
    assert names(Team.objects.filter(name__startswith="b").restrict(member, "view")) == ["beta"]
    assert names(Team.objects.restrict(member, "view").exclude(name="alpha")) == ["beta"]


def test_tokens_are_restricted_to_their_owner(teams):
    alice, bob = UserFactory(), UserFactory()
    mine = ApiTokenFactory(owner=alice)
    ApiTokenFactory(owner=bob)
    assert list(ApiToken.objects.restrict(alice, "view")) == [mine]
    assert ApiToken.objects.restrict(UserFactory(is_staff=True), "view").count() == 2
    assert not ApiToken.objects.restrict(AnonymousUser(), "view").exists()


def test_require_platform_admin_names_who_may(teams):
    require_platform_admin(UserFactory(is_staff=True), "create teams")
    with pytest.raises(Forbidden, match="Only platform admins create teams"):
        require_platform_admin(UserFactory(), "create teams")
    with pytest.raises(Forbidden):
        require_platform_admin(AnonymousUser(), "create teams")
